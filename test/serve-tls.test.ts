// TLS wired into serve: the gateway answers over https with the configured certificate (mutual TLS
// when required), SIGHUP swaps the certificate for new connections, doctor checks the files.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fingerprint, issueCert, makeCa, type CertFiles } from './helpers/certs.ts';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';

function peerFingerprint(port: number, ca: string, client?: CertFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost', ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) }, () => {
      const c: PeerCertificate = s.getPeerCertificate();
      s.end();
      resolve(c.fingerprint256);
    });
    s.on('error', reject);
  });
}

function get(url: string, ca: string, client?: CertFiles): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca), servername: 'localhost', ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve over TLS', () => {
  const s = scratch();
  let srv: Served | undefined;
  let ca: ReturnType<typeof makeCa>;
  let server: CertFiles;
  let client: CertFiles;
  before(() => {
    ca = makeCa(s.dir, 'test-ca');
    server = issueCert(ca, 'localhost');
    client = issueCert(ca, 'a-client', { client: true });
    copyFileSync(server.cert, `${s.dir}/server.crt`);
    copyFileSync(server.key, `${s.dir}/server.key`);
  });
  after(async () => {
    await srv?.stop();
    s.cleanup();
  });

  it('https with mutual TLS; SIGHUP gives new connections the new certificate; doctor is happy', async () => {
    const cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      'security:',
      '  tls: { cert: server.crt, key: server.key, ca: test-ca/ca.crt, require_client_cert: true }',
      'adapters: { websocket: { listen: "127.0.0.1:0" } }',
      '',
    ].join('\n').replace('test-ca/ca.crt', ca.cert));
    srv = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(srv.url).port);
    assert.equal(await get(`${srv.url}/healthz`, ca.cert, client), 200);
    await assert.rejects(get(`${srv.url}/healthz`, ca.cert), 'no client certificate: refused');
    assert.equal(await peerFingerprint(port, ca.cert, client), fingerprint(server.cert));

    const next = issueCert(ca, 'localhost');
    copyFileSync(next.cert, `${s.dir}/server.crt`);
    copyFileSync(next.key, `${s.dir}/server.key`);
    srv.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await peerFingerprint(port, ca.cert, client), fingerprint(next.cert), 'the new certificate');
    assert.equal(await srv.stop(), 0);
    srv = undefined;

    const doc = await runCli(['doctor', '--offline', '--json', '--config', cfg], { env: s.env, cwd: s.dir });
    const checks = (JSON.parse(doc.stdout) as { checks: { name: string; status: string }[] }).checks;
    for (const name of ['tls', 'tls key', 'tls chain', 'tls expiry']) assert.equal(checks.find((c) => c.name === name)?.status, 'ok', `${name}: ${doc.stdout}`);
  });
});
