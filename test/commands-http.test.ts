// The http runner against a loopback server: what arrives there (method, path, headers, body) for
// values that try to change the request's shape, statuses, timeouts and the response cap.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { runHttpRequest } from '../src/core/commands/http.ts';
import { bindParams } from '../src/core/commands/params.ts';
import { runCommand } from '../src/core/commands/run.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';
import { closedPort } from './helpers/cli.ts';
import { failure } from './helpers/commands.ts';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok');
let base = '';
/** Responses the server started that were closed before it finished them. */
let cutShort = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d));
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.on('close', () => { if (!res.writableFinished) cutShort++; });
    handler(req, res);
  });
});

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function command(raw: Record<string, unknown>): CommandSpec {
  return compileCommands({ api: commandEntry.parse({ runner: 'http', ...raw }) }, { dir: '/', home: '/' }).get('api')!;
}

const never = new AbortController().signal;


describe('http runner', () => {
  it('GET with URL placeholders encoded, so a value stays inside its path segment or query value', async () => {
    handler = (_req, res) => res.end('pong');
    seen.length = 0;
    const spec = command({ url: `${base}/items/{{id}}?q={{q}}&fixed=1`, params: { id: { pattern: '.' }, q: { pattern: '.' } } });
    const r = await runCommand(spec, bindParams(spec, ['a/b?c', 'x y&fixed=2#frag']), never);
    assert.deepEqual(r, { output: 'pong', truncated: false, exitCode: 200, durationMs: r.durationMs });
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.url, '/items/a%2Fb%3Fc?q=x%20y%26fixed%3D2%23frag&fixed=1');
  });

  it('POST a mapping as JSON: values land inside their strings whatever quotes they hold', async () => {
    handler = (_req, res) => res.writeHead(201).end('{"id":7}');
    seen.length = 0;
    const spec = command({
      method: 'POST',
      url: `${base}/deploy`,
      headers: { Authorization: 'Bearer fixed', 'X-App': '{{app}}' },
      body: { app: '{{app}}', note: 'by {{who}}', tags: ['{{app}}', 1], dry: false },
      expect_status: [201],
      params: { app: { pattern: '.' }, who: { pattern: '.' } },
    });
    const who = 'Mallory", "admin": true, "x": "\\';
    const r = await runCommand(spec, bindParams(spec, { app: 'web', who }), never);
    assert.equal(r.exitCode, 201);
    assert.equal(r.output, '{"id":7}');
    const got = seen[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.headers.authorization, 'Bearer fixed');
    assert.equal(got.headers['x-app'], 'web');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(got.body), { app: 'web', note: `by ${who}`, tags: ['web', 1], dry: false });
  });

  it('a text body is form-encoded: a value cannot add a field', async () => {
    handler = (_req, res) => res.end();
    seen.length = 0;
    const spec = command({ method: 'PUT', url: `${base}/form`, body: 'name={{name}}&role=viewer', params: { name: { pattern: '.' } } });
    await runCommand(spec, bindParams(spec, ['bob&role=admin']), never);
    assert.equal(seen[0]!.body, 'name=bob%26role%3Dadmin&role=viewer');
    assert.equal(seen[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(seen[0]!.body)), { name: 'bob&role=admin', role: 'viewer' });
  });

  it('a header value with CR or LF is refused before anything is sent', async () => {
    seen.length = 0;
    const req = { method: 'GET', url: `${base}/h`, headers: { 'x-user': '{{u}}' }, body: undefined, expectStatus: undefined } as const;
    const err = await failure(runHttpRequest(req, { u: 'bob\r\nX-Admin: 1' }, { timeoutMs: 2000, outputCap: 100, signal: never }), 'BAD_ARGUMENT');
    assert.match(err.message, /header x-user/);
    assert.equal(seen.length, 0);
  });

  it('an already rendered request (a workflow step) is sent as given; a {{...}} in it is text', async () => {
    handler = (_req, res) => res.end('fine');
    seen.length = 0;
    const req = { method: 'POST', url: `${base}/raw`, headers: { 'content-type': 'text/plain' }, body: 'literal {{x}} text', expectStatus: undefined } as const;
    const r = await runHttpRequest(req, {}, { timeoutMs: 2000, outputCap: 100, signal: never });
    assert.equal(r.output, 'fine');
    assert.equal(seen[0]!.body, 'literal {{x}} text');
    assert.equal(seen[0]!.headers['content-type'], 'text/plain');
  });

  it('an unexpected status is UNEXPECTED_STATUS with the status and a capped excerpt', async () => {
    handler = (_req, res) => res.writeHead(500).end(`boom ${'x'.repeat(10_000)}`);
    const err = await failure(runCommand(command({ url: `${base}/fail` }), {}, never), 'UNEXPECTED_STATUS');
    assert.equal(err.exitCode, 500);
    assert.equal(err.output!.length, 2048);
    assert.ok(err.output!.startsWith('boom x'));
    assert.match(err.message, /GET http:\/\/127\.0\.0\.1:\d+\/fail answered 500, expected 2xx/);
    assert.equal(err.userText, 'The service answered with an error.');
    // Listed statuses are the only successes; a redirect is not followed.
    handler = (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end();
    seen.length = 0;
    await failure(runCommand(command({ url: `${base}/moved` }), {}, never), 'UNEXPECTED_STATUS');
    assert.deepEqual(seen.map((s) => s.url), ['/moved']);
    handler = (_req, res) => res.writeHead(404).end('none');
    assert.equal((await runCommand(command({ url: `${base}/gone`, expect_status: [200, 404] }), {}, never)).exitCode, 404);
  });

  it('stops reading the body at the cap', async () => {
    cutShort = 0;
    // An endless body: the request can only end because the runner stops reading.
    handler = (_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'y');
      const pump = () => { while (!res.destroyed && res.write(chunk)); };
      res.on('drain', pump);
      pump();
    };
    const r = await runCommand(command({ url: `${base}/endless`, output_cap: '100KB', timeout: '10s' }), {}, never);
    assert.equal(r.output.length, 100 * 1024);
    assert.equal(r.truncated, true);
    for (let i = 0; i < 50 && cutShort === 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(cutShort, 1, 'the server saw the connection closed');
  });

  it('a server that does not answer in time is TIMEOUT; a cancel is ABORTED', async () => {
    handler = () => { /* never answers */ };
    const started = Date.now();
    await failure(runCommand(command({ url: `${base}/slow`, timeout: '300ms' }), {}, never), 'TIMEOUT');
    assert.ok(Date.now() - started < 2000);
    // A body that stalls half-way counts too.
    handler = (_req, res) => res.write('partial');
    const err = await failure(runCommand(command({ url: `${base}/stall`, timeout: '300ms' }), {}, never), 'TIMEOUT');
    assert.equal(err.output, 'partial');
    handler = () => { /* never answers */ };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await failure(runCommand(command({ url: `${base}/slow` }), {}, ac.signal), 'ABORTED');
  });

  it('nothing listening is CONNECT_FAILED', async () => {
    const err = await failure(runCommand(command({ url: `http://127.0.0.1:${await closedPort()}/` }), {}, never), 'CONNECT_FAILED');
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(err.userText, 'The server could not be reached.');
  });
});
