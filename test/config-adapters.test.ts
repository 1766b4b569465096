// adapters.telegram and adapters.slack: the fixed key names, defaults, and what enabling requires.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig, loadConfig } from '../src/core/config/load.ts';
import { ConfigError } from '../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'clawdbot-cfg-adapters-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const load = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env: { HOME: dir, ...env }, cwd: dir, home: dir });
};
const problem = (yaml: string, re: RegExp) => assert.throws(() => load(yaml), (e: unknown) => e instanceof ConfigError && re.test(e.message));

describe('config: telegram and slack adapters', () => {
  it('are off by default, with the documented defaults', () => {
    const d = defaultConfig({ HOME: dir }, dir);
    assert.equal(d.adapters.telegram.enabled, false);
    assert.equal(d.adapters.telegram.apiRoot, 'https://api.telegram.org');
    assert.equal(d.adapters.telegram.mode, 'polling');
    assert.equal(d.adapters.telegram.groupMode, 'mention');
    assert.equal(d.adapters.slack.mode, 'socket');
    assert.equal(d.adapters.slack.apiUrl, 'https://slack.com/api/');
    assert.equal(d.adapters.slack.eventsPath, '/slack/events');
  });

  it('load every fixed key, secrets from the environment', () => {
    const c = load([
      'adapters:',
      '  telegram:',
      '    enabled: true',
      '    token: ${TG}',
      '    mode: webhook',
      '    api_root: http://127.0.0.1:8081/',
      '    webhook_secret: s3cr3t_-',
      '    webhook_url: https://bot.example.com/telegram/webhook',
      '    allow_users: [1001, "@ada"]',
      '    allow_chats: [-100123]',
      '    group_mode: all',
      '    max_file_size: 5MB',
      '  slack:',
      '    enabled: true',
      '    mode: events',
      '    bot_token: ${SB}',
      '    signing_secret: ${SS}',
      '    api_url: http://127.0.0.1:9000/api',
      '    allow_users: [U42]',
      '    allow_channels: [C1, C2]',
      '',
    ].join('\n'), { TG: '123:abc', SB: 'xoxb-1', SS: 'sig' });
    const t = c.adapters.telegram;
    assert.deepEqual([t.enabled, t.token, t.mode, t.apiRoot, t.webhookSecret, t.groupMode, t.maxFileSize], [true, '123:abc', 'webhook', 'http://127.0.0.1:8081', 's3cr3t_-', 'all', 5 * 1024 * 1024]);
    assert.deepEqual(t.allowUsers, ['1001', '@ada']);
    assert.deepEqual(t.allowChats, ['-100123']);
    const s = c.adapters.slack;
    assert.deepEqual([s.enabled, s.mode, s.botToken, s.signingSecret, s.apiUrl], [true, 'events', 'xoxb-1', 'sig', 'http://127.0.0.1:9000/api/']);
    assert.deepEqual(s.allowChannels, ['C1', 'C2']);
  });

  it('enabling without the needed secrets is an error naming the key and the variable', () => {
    problem('adapters:\n  telegram:\n    enabled: true\n', /adapters\.telegram\.token.*TELEGRAM_BOT_TOKEN/);
    problem('adapters:\n  telegram: { enabled: true, token: x, mode: webhook }\n', /webhook_secret/);
    problem('adapters:\n  telegram: { enabled: true, token: x, webhook_secret: "has space" }\n', /webhook_secret.*A-Z a-z 0-9/);
    problem('adapters:\n  slack: { enabled: true, bot_token: xoxb-1 }\n', /app_token.*socket mode/);
    problem('adapters:\n  slack: { enabled: true, bot_token: xoxb-1, mode: events }\n', /signing_secret/);
    problem('adapters:\n  telegram: { enabled: true, token: x, gruop_mode: all }\n', /did you mean .?group_mode/);
    problem('adapters:\n  slack: { mode: rtm }\n', /socket, events/);
  });
});
