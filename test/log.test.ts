// Secrets never reach the log: keys named like secrets are redacted wherever the gateway logs them
// (top level, one and two levels down, request headers).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, type Logger } from '../src/core/log.ts';

async function capture(level = 'info'): Promise<{ log: Logger; text: () => string; lines: () => Record<string, unknown>[] }> {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = await createLogger({ level, destination });
  return {
    log,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Secrets look nothing like each other or like "[redacted]", so a leak of any of them is visible. */
const SECRET = (n: number) => `s3cr3t-${n}-${'x'.repeat(8)}`;

describe('log redaction', () => {
  it('redacts api_key, apiKey, token and authorization at the top level', async () => {
    const c = await capture();
    c.log.info({ api_key: SECRET(1), apiKey: SECRET(2), token: SECRET(3), authorization: `Bearer ${SECRET(4)}`, Authorization: `Bearer ${SECRET(5)}`, keep: 'visible' }, 'top level');
    const out = c.text();
    for (let i = 1; i <= 5; i++) assert.ok(!out.includes(SECRET(i)), `secret ${i} leaked: ${out}`);
    const [line] = c.lines();
    assert.equal(line!.api_key, '[redacted]');
    assert.equal(line!.apiKey, '[redacted]');
    assert.equal(line!.token, '[redacted]');
    assert.equal(line!.authorization, '[redacted]');
    assert.equal(line!.Authorization, '[redacted]');
    assert.equal(line!.keep, 'visible', 'other fields are kept');
    assert.equal(line!.msg, 'top level');
  });

  it('redacts them one level down (e.g. a headers object or a model config)', async () => {
    const c = await capture();
    c.log.info({ headers: { authorization: `Bearer ${SECRET(1)}`, 'x-api-key': SECRET(2) }, model: { endpoint: 'http://127.0.0.1:11434', apiKey: SECRET(3) }, bot: { token: SECRET(4) } }, 'one level');
    const out = c.text();
    for (let i = 1; i <= 4; i++) assert.ok(!out.includes(SECRET(i)), `secret ${i} leaked: ${out}`);
    const [line] = c.lines() as [{ headers: Record<string, string>; model: Record<string, string>; bot: Record<string, string> }];
    assert.equal(line.headers.authorization, '[redacted]');
    assert.equal(line.headers['x-api-key'], '[redacted]');
    assert.equal(line.model.apiKey, '[redacted]');
    assert.equal(line.model.endpoint, 'http://127.0.0.1:11434', 'the rest of the object is kept');
    assert.equal(line.bot.token, '[redacted]');
  });

  it('redacts them two levels down, including req.headers.authorization', async () => {
    const c = await capture();
    c.log.info({ req: { method: 'GET', url: '/ws', headers: { authorization: `Bearer ${SECRET(1)}`, host: 'localhost' } } }, 'request');
    c.log.warn({ config: { models: { api_key: SECRET(2) }, security: { api_key: SECRET(3), token: SECRET(4) } } }, 'two levels');
    const out = c.text();
    for (let i = 1; i <= 4; i++) assert.ok(!out.includes(SECRET(i)), `secret ${i} leaked: ${out}`);
    const [req, cfg] = c.lines() as [
      { req: { url: string; headers: Record<string, string> } },
      { config: { models: Record<string, string>; security: Record<string, string> } },
    ];
    assert.equal(req.req.headers.authorization, '[redacted]');
    assert.equal(req.req.headers.host, 'localhost');
    assert.equal(req.req.url, '/ws');
    assert.equal(cfg.config.models.api_key, '[redacted]');
    assert.equal(cfg.config.security.api_key, '[redacted]');
    assert.equal(cfg.config.security.token, '[redacted]');
  });

  it('redacts child-logger bindings and the same object logged twice', async () => {
    const c = await capture();
    const obj = { token: SECRET(1) };
    c.log.child({ apiKey: SECRET(2) }).info(obj, 'child');
    c.log.info(obj, 'again');
    const out = c.text();
    assert.ok(!out.includes(SECRET(1)) && !out.includes(SECRET(2)), out);
    assert.equal(out.split('[redacted]').length - 1, 3);
    assert.equal(obj.token, SECRET(1), 'the caller\'s object is not modified');
  });
});
