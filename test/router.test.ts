import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainRoute, matchRoute } from '../src/core/router.ts';
import type { Route } from '../src/core/types.ts';

const routes: Route[] = [
  { index: 0, match: { platform: ['whatsapp', 'telegram'], content: '/start' }, action: 'send_welcome_message', source: 'r.yaml:2:5' },
  { index: 1, match: { platform: ['slack'], content: '!help' }, action: 'trigger_help_workflow', source: 'r.yaml:6:5' },
  { index: 2, match: { contentPrefix: '/admin', role: ['Admin'] }, action: 'admin', source: 'r.yaml:9:5' },
  { index: 3, match: { contentRegex: /^status\b/i }, action: 'status', source: 'r.yaml:11:5' },
  { index: 4, match: null, action: 'process_with_llm', source: 'r.yaml:13:5' },
];
const m = (platform: string, text: string, role = 'User') => matchRoute(routes, { platform, text, role })?.action;

describe('router', () => {
  it('follows the seed semantics: platform list, exact content, default', () => {
    assert.equal(m('telegram', '/start'), 'send_welcome_message');
    assert.equal(m('whatsapp', '  /start '), 'send_welcome_message');
    assert.equal(m('slack', '/start'), 'process_with_llm');
    assert.equal(m('slack', '!help'), 'trigger_help_workflow');
    assert.equal(m('telegram', '/start now'), 'process_with_llm');
  });

  it('content_prefix, content_regex and role', () => {
    assert.equal(m('cli', '/admin reload', 'Admin'), 'admin');
    assert.equal(m('cli', '/admin reload', 'User'), 'process_with_llm');
    assert.equal(m('cli', 'STATUS please'), 'status');
    assert.equal(m('cli', 'what is the status'), 'process_with_llm');
  });

  it('a default rule anywhere is only the fallback; none means no answer', () => {
    const reordered = [routes[4]!, routes[0]!];
    assert.equal(matchRoute(reordered, { platform: 'telegram', text: '/start', role: 'User' })?.action, 'send_welcome_message');
    assert.equal(matchRoute([routes[0]!], { platform: 'cli', text: 'x', role: 'User' }), null);
  });

  it('explain says why each rule did or did not match', () => {
    const e = explainRoute(routes, { platform: 'slack', text: '!help', role: 'User' });
    assert.equal(e.route?.action, 'trigger_help_workflow');
    assert.match(e.verdicts[0]!.reasons.join('\n'), /no  platform "slack" in \["whatsapp", "telegram"\]/);
    assert.equal(e.verdicts.filter((v) => v.matched).length, 1);
    const d = explainRoute(routes, { platform: 'cli', text: 'hello', role: 'User' });
    assert.equal(d.route?.action, 'process_with_llm');
    assert.match(d.verdicts.find((v) => v.matched)!.reasons[0]!, /no other rule matched/);
  });
});
