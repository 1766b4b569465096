// Secrets never reach the log, the audit table or the audit file. Config secrets come from the
// environment; a message carries tokens; a command prints one (and fails printing it, which the gateway
// logs with the command's output). Turns run through the in-process pipeline with the log going through
// RedactingStream, as serve's does; then every output is searched for every planted value.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { verifyFile } from '../src/core/audit-file.ts';
import { attachAudit } from '../src/core/audit.ts';
import { auditSection, compileAudit } from '../src/core/config/audit.ts';
import { defaultConfig, loadConfig } from '../src/core/config/load.ts';
import type { Config } from '../src/core/config/types.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import { createLogger } from '../src/core/log.ts';
import { configSecrets, RedactingStream, Redactor, StreamRedactor } from '../src/core/redact.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { BetterSqlite3, nativeParts } from '../src/store/native.ts';
import { Store } from '../src/store/store.ts';
import { ChatAdapter } from './helpers/chat.ts';
import { scratch } from './helpers/cli.ts';
import { echoModel } from './helpers/pipeline.ts';

/** Telegram's shape: bot id, colon, 35 characters. */
const telegramToken = (id: string, seed: string) => `${id}:${seed.padEnd(35, 'Q7').slice(0, 35)}`;

const ENV = {
  CB_API_KEY: 'cfg-api-key-Q7w8e9r0t1y2',
  MODEL_KEY: 'sk-model-key-A1s2d3f4g5h6',
  TG_TOKEN: telegramToken('7000000001', 'AAHconfiguredTelegramBot'),
  TG_HOOK: 'tg-webhook-secret-Z9x8c7',
  SLACK_BOT: 'xoxb-1111111111-2222222222-ConfiguredBotToken',
  SLACK_APP: 'xapp-1-A0FAKE-3333333333-configuredapptoken',
  SLACK_SIGN: 'slack-signing-secret-0a1b2c3d',
  DEPLOY_TOKEN: 'dpl-deploy-token-4f3e2d1c',
  SSH_PASS: 'ssh-passphrase-m5n6b7v8',
  HOOK_KEY: 'hook-api-key-p0o9i8u7',
};
/** Not in the config: found by their look. */
const LOOSE = {
  messageTelegram: telegramToken('5550001234', 'AAFsomeoneElsesBotToken'),
  printedSlack: 'xoxb-9999999999-8888888888-PrintedByCommand',
  bearer: 'eyJhbGciOiJIUzI1NiJ9.payload123.sig456',
  apiKey: 'cbk_live_0123456789abcdefXYZ',
};
const PLANTED = [...Object.values(ENV), ...Object.values(LOOSE)];

const CONFIG = `
security:
  api_key: \${CB_API_KEY}
  roles:
    Admin: ["chat:alice"]
models:
  default: { provider: ollama, api_key: "\${MODEL_KEY}" }
adapters:
  telegram: { enabled: false, token: "\${TG_TOKEN}", webhook_secret: "\${TG_HOOK}" }
  slack: { enabled: false, bot_token: "\${SLACK_BOT}", app_token: "\${SLACK_APP}", signing_secret: "\${SLACK_SIGN}" }
commands:
  show_deploy:
    runner: local
    argv: ["sh", "-c", "echo deploying with $DEPLOY_TOKEN; echo slack said ${LOOSE.printedSlack}"]
    env: { DEPLOY_TOKEN: "\${DEPLOY_TOKEN}", LANG: "C.UTF-8" }
    role: User
  deploy:
    runner: local
    argv: ["sh", "-c", "echo deploying with $DEPLOY_TOKEN; echo slack said ${LOOSE.printedSlack}; exit 3"]
    env: { DEPLOY_TOKEN: "\${DEPLOY_TOKEN}" }
    role: User
  remote_uptime:
    runner: ssh
    host: 127.0.0.1
    user: ops
    private_key: id_ed25519
    passphrase: "\${SSH_PASS}"
    host_key_fingerprint: "SHA256:${'A'.repeat(43)}"
    argv: ["uptime"]
  notify:
    runner: http
    method: POST
    url: http://127.0.0.1:9/hook
    headers: { X-Api-Key: "\${HOOK_KEY}", Accept: "application/json" }
routes:
  - { match: { content_prefix: "/show" }, action: show_deploy }
  - { match: { content_prefix: "/deploy" }, action: deploy }
  - { default: { action: process_with_llm } }
`;

let n = 0;
const message = (user: string, text: string): InboundMessage => ({
  platform: 'chat', id: `m${++n}`, chat: { id: `c-${user}`, type: 'dm' }, sender: { id: user }, text, sentAt: Date.now(), attachments: [],
});

describe('planted secrets never appear in the log, the audit table or the audit file', () => {
  const s = scratch();
  const dbPath = join(s.dir, 'data', 'clawdbot.db');
  const auditFile = join(s.dir, 'audit.jsonl');
  let config: Config;
  let logged = '';
  /** What pino wrote before redaction: shows the log path would have leaked without it. */
  let unredacted = '';

  before(async () => {
    config = loadConfig({ file: s.write('clawdbot.yaml', CONFIG), env: ENV, home: s.dir, cwd: s.dir });
    const redactor = Redactor.fromConfig(config);
    const capture = new Writable({ write: (c, _e, cb) => ((logged += String(c)), cb()) });
    const redacting = new RedactingStream(redactor, capture);
    const spy = new Writable({ write: (c, _e, cb) => ((unredacted += String(c)), redacting.write(c, cb)) });
    const log = await createLogger({ level: 'trace', destination: spy });
    const store = Store.open(dbPath);
    attachAudit(store, compileAudit(auditSection.parse({ file: auditFile }), { dir: s.dir, home: s.dir }), redactor);
    const chat = new ChatAdapter();
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model: echoModel }), adapters, log });
    const turns: [string, string][] = [
      ['alice', '/show'],
      ['alice', '/deploy'],
      ['bob', `/run show_deploy ${ENV.CB_API_KEY}`],
      ['bob', `my bot token is ${LOOSE.messageTelegram}, my key ${LOOSE.apiKey}, header Authorization: Bearer ${LOOSE.bearer}`],
      ['alice', `is the model key ${ENV.MODEL_KEY} or ${ENV.SLACK_BOT}? signing with ${ENV.SLACK_SIGN}, ssh ${ENV.SSH_PASS}`],
      ['alice', `webhook ${ENV.TG_HOOK} for ${ENV.TG_TOKEN}, app ${ENV.SLACK_APP}, hook ${ENV.HOOK_KEY}`],
    ];
    for (const [user, text] of turns) {
      const o = await gateway.receive(message(user, text));
      assert.ok(!o.duplicate && o.result, text);
    }
    log.info({ model: config.models.default, note: `started with ${ENV.DEPLOY_TOKEN}` }, 'config');
    await gateway.close(1000);
    store.close();
  });
  after(() => s.cleanup());

  const leaks = (text: string) => PLANTED.filter((p) => text.includes(p));

  test('the turns did what they should (and their inputs carried the secrets)', () => {
    const raw = rawAudit(dbPath);
    assert.deepEqual(raw.map((r) => r.event_type), ['command_execution', 'command_execution', 'policy_denial', 'model_invocation', 'model_invocation', 'model_invocation']);
    assert.ok(leaks(unredacted).includes(ENV.DEPLOY_TOKEN), 'the failed command\'s output reached the logger');
    assert.ok(leaks(unredacted).includes(LOOSE.printedSlack));
  });

  test('the log', () => {
    assert.ok(logged.length > 0);
    assert.deepEqual(leaks(logged), []);
    assert.match(logged, /\[redacted\]/);
    // Still one JSON object per line after redaction.
    for (const line of logged.split('\n').filter(Boolean)) JSON.parse(line);
  });

  test('the audit table', () => {
    const raw = JSON.stringify(rawAudit(dbPath));
    assert.deepEqual(leaks(raw), []);
    const rows = rawAudit(dbPath);
    assert.equal(rows[0]!.output, 'exit 0\ndeploying with [redacted]\nslack said [redacted]\n');
    assert.match(String(rows[3]!.input), /^my bot token is \[redacted\], my key \[redacted\], header Authorization: \[redacted\]$/);
  });

  test('the audit file, which still verifies', () => {
    assert.ok(existsSync(auditFile));
    const text = readFileSync(auditFile, 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 6);
    assert.deepEqual(leaks(text), []);
    const store = Store.open(dbPath);
    try {
      assert.equal(store.audit.verifyChain(), null);
      assert.equal(verifyFile(auditFile, store.audit).broken, null);
    } finally {
      store.close();
    }
  });
});

function rawAudit(path: string): Record<string, unknown>[] {
  const native = nativeParts();
  const db = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon, readonly: true }) : new BetterSqlite3(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM audit ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('Redactor', () => {
  const r = new Redactor(['s3cr3t-value-1', 'ab"cd\\ef-99']);

  test('configured values, also as they appear inside JSON and URLs', () => {
    assert.equal(r.redact('use s3cr3t-value-1 now'), 'use [redacted] now');
    assert.equal(r.redact(JSON.stringify({ msg: 'x ab"cd\\ef-99 y' })), '{"msg":"x [redacted] y"}');
    assert.equal(r.redact(`?q=${encodeURIComponent('ab"cd\\ef-99')}`), '?q=[redacted]');
  });

  test('credentials by their look', () => {
    const cases: [string, string][] = [
      ['Authorization: Bearer abc.def-123_456', 'Authorization: [redacted]'],
      ['"authorization":"Basic dXNlcjpwYXNz"', '"authorization":"[redacted]"'],
      ['curl -H "Bearer zz9_TOKEN_value"', 'curl -H "Bearer [redacted]"'],
      ['bot xoxb-123-456-abcdefgh and xoxp-1-2-3-abcdefgh and xapp-1-A1-2-abcdef', 'bot [redacted] and [redacted] and [redacted]'],
      [`GET https://api.telegram.org/bot${telegramToken('123456', 'AAx')}/getMe`, 'GET https://api.telegram.org/bot[redacted]/getMe'],
      ['key cbk_AbC123xyz_456', 'key [redacted]'],
      ['https://deploy:pa55word@git.example.com/repo', 'https://deploy:[redacted]@git.example.com/repo'],
      ['password=hunter22 user=bob', 'password=[redacted] user=bob'],
      ['{"api_key": "k-123456", "client_secret":"zzzz1111"}', '{"api_key": "[redacted]", "client_secret":"[redacted]"}'],
      ['?access_token=abcd1234&x=1', '?access_token=[redacted]&x=1'],
    ];
    for (const [input, expected] of cases) assert.equal(r.redact(input), expected, input);
  });

  test('StreamRedactor: a streamed text leaves redacted, whatever the pieces; what has left never changes', () => {
    const LONG = 'a-long-configured-secret-0123456789-abcdefghijkl'; // longer than the hold: the cut must not fall inside it
    const spaced = new Redactor(['s3cr3t-value-1', 'open sesame 42', LONG]);
    const text = `Here is s3cr3t-value-1, then Authorization: Bearer abc.def-123_456, password=hunter22 and open sesame 42. ${'filler words '.repeat(30)}`
      + `"authorization": "Basic dXNlcjpwYXNz" then Authorization: Basic dXNlcjpwYXNz2 and ${LONG} too `
      + `last: xoxb-123-456-abcdefgh and the bearer Bearer zz9_TOKEN_value`;
    const whole = spaced.redact(text);
    assert.ok(!/s3cr3t|hunter22|sesame|abcdefgh|zz9_TOKEN|dXNl|long-configured/.test(whole));
    for (const size of [1, 2, 3, 5, 7, 13, 50, 1000]) {
      let out = '';
      const stream = new StreamRedactor(spaced, (piece) => (out += piece));
      for (let i = 0; i < text.length; i += size) {
        stream.push(text.slice(i, i + size));
        assert.ok(whole.startsWith(out), `size ${size}: sent text that later changed or leaked: ${JSON.stringify(out.slice(-60))}`);
        assert.ok(!out.includes(LONG.slice(0, 10)), `size ${size}: part of a secret left before it was whole`);
      }
      stream.end();
      assert.equal(out, whole, `size ${size}`);
    }
  });

  test('ordinary text stays as it is', () => {
    for (const text of ['max_tokens: 1024', 'the bearer of bad news', 'step 1: install', 'tokens: 12 used', 'a password manager', 'xoxo-hugs', 'see https://example.com/a:b@c']) {
      assert.equal(r.redact(text), text);
    }
  });

  test('values too short to search for are left out; withConfig keeps the old values', () => {
    assert.equal(new Redactor(['abc', 'abcdef']).redact('abc abcdef'), 'abc [redacted]');
    const before = new Redactor(['old-token-123456']);
    const reloaded = { ...defaultConfig({}, '/nonexistent'), security: { ...defaultConfig({}, '/nonexistent').security, apiKey: 'new-api-key-654321' } };
    const after = before.withConfig(reloaded);
    assert.equal(after.redact('old-token-123456 new-api-key-654321'), '[redacted] [redacted]');
  });

  test('configSecrets: credential-looking env and headers of commands, ssh passphrases, adapter and model keys', () => {
    const s = scratch();
    try {
      const config = loadConfig({ file: s.write('clawdbot.yaml', CONFIG), env: ENV, home: s.dir, cwd: s.dir });
      assert.deepEqual(new Set(configSecrets(config)), new Set(Object.values(ENV)));
      assert.ok(!configSecrets(config).includes('C.UTF-8'), 'LANG is not a credential');
      assert.ok(!configSecrets(config).includes('application/json'), 'Accept is not a credential');
      const dataKey = Buffer.alloc(32, 7);
      const more = loadConfig({
        file: s.write('more.yaml', 'security:\n  encryption_key: ${DATA_KEY}\nmetrics:\n  enabled: true\n  token: ${SCRAPE}\n'),
        env: { DATA_KEY: dataKey.toString('base64'), SCRAPE: 'scrape-token-9z8y7x' }, home: s.dir, cwd: s.dir,
      });
      assert.deepEqual(new Set(configSecrets(more)), new Set([dataKey.toString('base64'), dataKey.toString('hex'), 'scrape-token-9z8y7x']));
    } finally {
      s.cleanup();
    }
  });

  test('RedactingStream: a pino line is redacted whole and stays JSON; use() swaps the redactor', async () => {
    let out = '';
    const stream = new RedactingStream(new Redactor(['first-secret-1']), new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }));
    const log = await createLogger({ level: 'info', destination: stream });
    log.info({ err: { message: 'failed with first-secret-1' } }, 'x');
    stream.use(new Redactor(['second-secret-2']));
    log.info('then second-secret-2');
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { err?: { message: string }; msg: string });
    assert.equal(lines[0]!.err!.message, 'failed with [redacted]');
    assert.equal(lines[1]!.msg, 'then [redacted]');
  });
});
