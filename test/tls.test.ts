// TLS on the gateway listener: the security.tls section, TLS 1.2+ only, mutual TLS, WebSocket over TLS,
// and certificate reload without dropping open connections. Real TLS servers and clients on 127.0.0.1;
// certificates made with openssl (test/helpers/certs.ts).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer as createTlsServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import { nullish } from 'zod/mini';
import { obj } from '../src/core/config/kit.ts';
import { parseYaml } from '../src/core/config/document.ts';
import { issuesToProblems } from '../src/core/config/problems.ts';
import { compileTls, TlsFileError, tlsSection, type TlsConfig } from '../src/core/config/tls.ts';
import { ApiKeyAuth } from '../src/core/http/auth.ts';
import { HttpGateway } from '../src/core/http/server.ts';
import { fingerprint, issueCert, makeCa, tempDir, type Ca, type CertFiles } from './helpers/certs.ts';
import { quietLog } from './helpers/pipeline.ts';

const tmp = tempDir('clawdbot-tls-');
after(() => tmp.remove());
let ca: Ca;
let otherCa: Ca;
let server: CertFiles;
let server2: CertFiles;
let client: CertFiles;
let strangerClient: CertFiles;
before(() => {
  ca = makeCa(tmp.dir, 'test-ca');
  otherCa = makeCa(tmp.dir, 'other-ca');
  server = issueCert(ca, 'server');
  server2 = issueCert(ca, 'server2');
  client = issueCert(ca, 'alice', { client: true });
  strangerClient = issueCert(otherCa, 'mallory', { client: true });
});

const tlsConfig = (over: Partial<TlsConfig> = {}): TlsConfig => ({ cert: server.cert, key: server.key, ca: undefined, requireClientCert: false, minVersion: 'TLSv1.2', ...over });

interface Refusal { readonly code: string | undefined; readonly message: string; readonly authorizationError: string | undefined }

interface Running {
  readonly gw: HttpGateway;
  readonly port: number;
  /** Handshakes the server refused (its 'tlsClientError' events), with the client certificate's verify error. */
  readonly refused: Refusal[];
  /** Requests that reached a route handler. */
  readonly hits: () => number;
  stop(): Promise<void>;
}

/** A TLS gateway with GET /hello (answers "hi") and an echoing WebSocket at /ws. */
async function startGateway(tls: TlsConfig): Promise<Running> {
  const gw = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined), limiter: undefined, log: await quietLog(), tls });
  let hits = 0;
  gw.route('GET', '/hello', ({ res }) => {
    hits++;
    res.end('hi');
  }, { auth: false });
  const wss = new WebSocketServer({ noServer: true });
  gw.upgrade('/ws', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d) => ws.send(`echo ${d.toString()}`))), { auth: false });
  assert.ok(gw.server instanceof HttpsServer, 'with tls the gateway listens with https');
  const refused: Refusal[] = [];
  gw.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
    // At run time a code string such as UNABLE_TO_VERIFY_LEAF_SIGNATURE (typed as an Error).
    const why = socket.authorizationError as unknown as string | null | undefined;
    refused.push({ code: err.code, message: err.message, authorizationError: why ?? undefined });
  });
  const { port } = await gw.listen();
  return {
    gw,
    port,
    refused,
    hits: () => hits,
    stop: async () => {
      for (const ws of wss.clients) ws.terminate();
      const closed = gw.close();
      gw.destroyAll();
      await closed;
    },
  };
}

/** A raw TLS handshake; resolves with the negotiated protocol or the client's error. */
function handshake(port: number, opts: ConnectionOptions): Promise<{ protocol: string | null } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: readCa(), ...opts }, () => {
      resolve({ protocol: s.getProtocol() });
      s.end();
    });
    s.on('error', (error) => resolve({ error }));
  });
}

interface Reply { readonly status: number; readonly body: string; readonly fingerprint: string; readonly protocol: string | null; readonly reused: boolean }

/** GET /hello over HTTPS, trusting the test CA. */
function get(port: number, opts: { agent?: Agent; cert?: CertFiles; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/hello', ca: readCa(), agent: opts.agent ?? false, maxVersion: opts.maxVersion,
      ...(opts.cert ? { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) } : {}),
    }, (res) => {
      // Read now: the socket is detached from the response once it ends.
      const sock = res.socket as TLSSocket;
      const seen = { fingerprint: sock.getPeerCertificate().fingerprint256, protocol: sock.getProtocol(), reused: req.reusedSocket };
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...seen }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsConnect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: readCa() });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function wsAsk(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.once('error', reject);
    ws.send(text);
  });
}

const readCa = () => readFileSync(ca.cert);

describe('security.tls config', () => {
  const schema = obj({ security: obj({ tls: nullish(tlsSection) }) });
  const load = (yaml: string): { problems: string[]; tls?: TlsConfig } => {
    const f = parseYaml(yaml, '/etc/clawdbot/c.yaml', 'c.yaml', {});
    assert.deepEqual(f.problems, []);
    const r = schema.safeParse(f.source.data);
    if (!r.success) return { problems: issuesToProblems(r.error.issues, f.source) };
    return { problems: [], tls: compileTls(r.data.security.tls, { dir: '/etc/clawdbot', home: '/home/bot' }) };
  };

  it('loads with paths resolved against the config folder and ~/, TLSv1.2 by default', () => {
    assert.deepEqual(load('security:\n  tls:\n    cert: certs/server.crt\n    key: ~/keys/server.key\n'), {
      problems: [],
      tls: { cert: '/etc/clawdbot/certs/server.crt', key: '/home/bot/keys/server.key', ca: undefined, requireClientCert: false, minVersion: 'TLSv1.2' },
    });
    const m = load('security:\n  tls: { cert: /x.crt, key: /x.key, ca: ca.pem, require_client_cert: true, min_version: TLSv1.3 }\n');
    assert.deepEqual(m.tls, { cert: '/x.crt', key: '/x.key', ca: '/etc/clawdbot/ca.pem', requireClientCert: true, minVersion: 'TLSv1.3' });
    for (const [written, want] of [['"1.2"', 'TLSv1.2'], ['1.3', 'TLSv1.3'], ['tlsv1.3', 'TLSv1.3'], ['1.2', 'TLSv1.2']] as const) {
      assert.equal(load(`security:\n  tls: { cert: a, key: b, min_version: ${written} }\n`).tls?.minVersion, want, written);
    }
  });

  it('is absent when not written', () => {
    assert.deepEqual(load('security: {}\n'), { problems: [], tls: undefined });
  });

  it('an unknown key suggests the right one', () => {
    assert.deepEqual(load('security:\n  tls:\n    cert: a\n    key: b\n    require_client_certs: true\n').problems, [
      'c.yaml:5:5: security.tls.require_client_certs: unknown key, did you mean `require_client_cert`? (expected one of: cert, key, ca, require_client_cert, min_version)',
    ]);
  });

  it('refuses versions below 1.2 and says why', () => {
    for (const v of ['TLSv1.1', 'TLSv1', '1.0', '"1.1"']) {
      const p = load(`security:\n  tls:\n    cert: a\n    key: b\n    min_version: ${v}\n`).problems;
      assert.equal(p.length, 1, v);
      assert.match(p[0]!, /^c\.yaml:5:18: security\.tls\.min_version: expected TLSv1\.2 \(the default\) or TLSv1\.3: TLS 1\.[01] has known weaknesses and is refused \(never below 1\.2\), got /, v);
    }
    assert.deepEqual(load('security:\n  tls: { cert: a, key: b, min_version: SSLv3 }\n').problems, [
      'c.yaml:2:40: security.tls.min_version: expected TLSv1.2 (the default) or TLSv1.3, got "SSLv3"',
    ]);
  });

  it('require_client_cert needs a CA, and cert and key are required', () => {
    assert.deepEqual(load('security:\n  tls:\n    cert: a\n    key: b\n    require_client_cert: true\n').problems, [
      'c.yaml:5:26: security.tls.require_client_cert: expected `ca: FILE` (the CA that signs client certificates) next to require_client_cert: true, got no ca',
    ]);
    assert.deepEqual(load('security:\n  tls:\n    cert: a\n').problems, [
      'c.yaml:3:5: security.tls.key: expected a file path (the private key of the certificate, PEM), got nothing (the key is missing)',
    ]);
  });
});

describe('TLS listener', () => {
  it('refuses TLS 1.0 and 1.1 handshakes that the client offers', async () => {
    // The client is allowed every cipher, so it really offers the old versions: a server that permits
    // them accepts the same client (control), and the gateway is the one that refuses.
    const legacy = (v: 'TLSv1' | 'TLSv1.1'): ConnectionOptions => ({ minVersion: 'TLSv1', maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' });
    const control = createTlsServer({ cert: readFileSync(server.cert), key: readFileSync(server.key), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    const g = await startGateway(tlsConfig());
    try {
      for (const v of ['TLSv1', 'TLSv1.1'] as const) {
        assert.deepEqual(await handshake((control.address() as { port: number }).port, legacy(v)), { protocol: v }, `control accepts ${v}`);
        const before = g.refused.length;
        const r = await handshake(g.port, legacy(v));
        assert.ok('error' in r, `gateway must refuse ${v}, got ${JSON.stringify(r)}`);
        assert.equal(r.error.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'the server sent a protocol_version alert');
        assert.equal(g.refused.length, before + 1);
        assert.equal(g.refused.at(-1)?.code, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
      }
    } finally {
      control.close();
      await g.stop();
    }
  });

  it('accepts TLS 1.2 with min_version TLSv1.2, refuses it with TLSv1.3', async () => {
    const g12 = await startGateway(tlsConfig());
    const g13 = await startGateway(tlsConfig({ minVersion: 'TLSv1.3' }));
    try {
      const ok = await get(g12.port, { maxVersion: 'TLSv1.2' });
      assert.deepEqual([ok.status, ok.body, ok.protocol], [200, 'hi', 'TLSv1.2']);
      assert.equal((await get(g12.port)).protocol, 'TLSv1.3', 'the newest version when the client has it');
      await assert.rejects(get(g13.port, { maxVersion: 'TLSv1.2' }), /alert protocol version/);
      assert.equal(g13.refused[0]?.code, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
      assert.equal((await get(g13.port)).protocol, 'TLSv1.3');
    } finally {
      await Promise.all([g12.stop(), g13.stop()]);
    }
  });

  it('with require_client_cert accepts only clients with a certificate from the CA', async () => {
    const g = await startGateway(tlsConfig({ ca: ca.cert, requireClientCert: true }));
    try {
      const ok = await get(g.port, { cert: client });
      assert.deepEqual([ok.status, ok.body, g.hits()], [200, 'hi', 1]);

      await assert.rejects(get(g.port), 'no client certificate');
      assert.equal(g.refused.at(-1)?.code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
      const n = g.refused.length;
      // Node verifies the client's certificate when the handshake completes and drops the connection
      // before any HTTP byte is read; the reason is on the socket.
      await assert.rejects(get(g.port, { cert: strangerClient }), 'a certificate from another CA');
      assert.equal(g.refused.length, n + 1);
      assert.equal(g.refused.at(-1)?.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');

      assert.equal((await get(g.port, { cert: client, maxVersion: 'TLSv1.2' })).status, 200, 'TLS 1.2 with a good certificate');
      await assert.rejects(get(g.port, { maxVersion: 'TLSv1.2' }), /alert handshake failure/, 'TLS 1.2 without one');
      await assert.rejects(get(g.port, { cert: strangerClient, maxVersion: 'TLSv1.2' }), 'TLS 1.2 with a stranger');
      assert.equal(g.hits(), 2, 'refused clients never reached a handler');
    } finally {
      await g.stop();
    }
  });

  it('upgrades WebSockets over TLS', async () => {
    const g = await startGateway(tlsConfig());
    try {
      const ws = await wsConnect(g.port);
      assert.equal(await wsAsk(ws, 'hello'), 'echo hello');
      ws.close();
    } finally {
      await g.stop();
    }
  });

  it('reloads the certificate for new connections and keeps open ones', async () => {
    const files = { cert: join(tmp.dir, 'live.crt'), key: join(tmp.dir, 'live.key') };
    copyFileSync(server.cert, files.cert);
    copyFileSync(server.key, files.key);
    const g = await startGateway(tlsConfig(files));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(g.port, { agent });
      assert.equal(first.fingerprint, fingerprint(server.cert));
      const ws = await wsConnect(g.port);

      copyFileSync(server2.cert, files.cert);
      copyFileSync(server2.key, files.key);
      const now = await g.gw.reloadTls();
      assert.equal(now?.fingerprint256, fingerprint(server2.cert));
      assert.notEqual(fingerprint(server2.cert), fingerprint(server.cert));

      assert.equal((await get(g.port)).fingerprint, fingerprint(server2.cert), 'a new connection gets the new certificate');
      const again = await get(g.port, { agent });
      assert.deepEqual([again.reused, again.fingerprint, again.body], [true, fingerprint(server.cert), 'hi'], 'the keep-alive connection stays and answers');
      assert.equal(await wsAsk(ws, 'still there?'), 'echo still there?', 'the WebSocket stays open');
      ws.close();
    } finally {
      agent.destroy();
      await g.stop();
    }
  });

  it('a reload with broken files throws, naming the file, and keeps the old certificate', async () => {
    const files = { cert: join(tmp.dir, 'r.crt'), key: join(tmp.dir, 'r.key') };
    copyFileSync(server.cert, files.cert);
    copyFileSync(server.key, files.key);
    const g = await startGateway(tlsConfig(files));
    try {
      writeFileSync(files.cert, 'not a certificate\n');
      await assert.rejects(g.gw.reloadTls(), (err: unknown) => err instanceof TlsFileError && err.file === files.cert && /holds no PEM certificate/.test(err.message));
      assert.equal((await get(g.port)).fingerprint, fingerprint(server.cert));

      copyFileSync(server2.cert, files.cert); // the new certificate, but the old key still in place
      await assert.rejects(g.gw.reloadTls(), (err: unknown) => err instanceof TlsFileError && err.file === files.key && /does not belong to the certificate/.test(err.message));
      assert.equal((await get(g.port)).fingerprint, fingerprint(server.cert));
    } finally {
      await g.stop();
    }
  });

  it('listen fails with an error naming a missing file', async () => {
    const missing = join(tmp.dir, 'nope.key');
    const gw = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined), limiter: undefined, log: await quietLog(), tls: tlsConfig({ key: missing }) });
    await assert.rejects(gw.listen(), (err: unknown) => err instanceof TlsFileError && err.message === `security.tls.key ${missing}: cannot be read: does not exist`);
    assert.equal(gw.server.listening, false);
  });

  it('plain HTTP when tls is not set (reloadTls does nothing)', async () => {
    const gw = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined), limiter: undefined, log: await quietLog() });
    assert.equal(gw.server instanceof HttpsServer, false);
    assert.equal(gw.scheme, 'http');
    assert.equal(await gw.reloadTls(), undefined);
  });
});
