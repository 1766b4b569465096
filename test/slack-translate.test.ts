// Slack event → InboundMessage (src/adapters/slack/translate.ts), a pure function. Events come from the
// fake Slack's builders (mention(), directMessage(): the shapes the Events API sends) or are written by
// hand as Events API JSON for the ones the builders do not make (edits, joins, bot messages, reactions).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageId, toInbound, type SlackAudience, type SlackEvent } from '../src/adapters/slack/translate.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack.ts';

let fake: FakeSlack;
const CHANNEL = 'C0GENERAL01';
const OTHER_CHANNEL = 'C0RANDOM001';
const DM = 'D0ADA000001';
const ADA = 'U0ADA000001';
const BOB = 'U0BOB000001';

const audience = (o: Partial<SlackAudience> = {}): SlackAudience => ({ botUserId: fake.botUserId, allowUsers: [], allowChannels: [], ...o });
const ev = (e: Record<string, unknown>): SlackEvent => e as unknown as SlackEvent;
const inbound = (r: InboundMessage | { skip: string }): InboundMessage => {
  if ('skip' in r) assert.fail(`expected a message, got skip: ${r.skip}`);
  return r;
};
const skipped = (r: InboundMessage | { skip: string }, reason?: RegExp): string => {
  assert.ok('skip' in r, `expected a skip, got a message with text ${JSON.stringify((r as InboundMessage).text)}`);
  if (reason) assert.match(r.skip, reason);
  return r.skip;
};

describe('slack translate: toInbound', () => {
  before(async () => {
    fake = await startFakeSlack();
  });
  after(async () => {
    await fake.close();
  });

  describe('app_mention in a channel', () => {
    it('answers in a thread started by the mention; the mention is stripped', () => {
      const e = ev(fake.mention({ channel: CHANNEL, user: ADA, text: 'what time is it?' }));
      assert.equal(e.type, 'app_mention');
      assert.ok(e.text?.startsWith(`<@${fake.botUserId}>`), 'the fake writes the mention like Slack');
      const r = inbound(toInbound(e, audience()));
      assert.equal(r.platform, 'slack');
      assert.equal(r.text, 'what time is it?');
      assert.equal(r.threadId, e.ts, 'a new thread under the mention');
      assert.equal(r.chat.id, CHANNEL);
      assert.equal(r.chat.type, 'channel');
      assert.equal(r.id, `${CHANNEL}:${e.ts}`);
      assert.equal(r.id, messageId(CHANNEL, e.ts));
      assert.equal(r.sender.id, ADA);
      assert.equal(r.sentAt, Math.round(Number(e.ts) * 1000));
      assert.deepEqual(r.attachments, []);
    });

    it('a mention inside a thread answers in that thread', () => {
      const parent = ev(fake.mention({ channel: CHANNEL, user: ADA, text: 'start' }));
      const e = ev(fake.mention({ channel: CHANNEL, user: BOB, text: 'and a follow-up', thread_ts: parent.ts }));
      assert.equal(e.thread_ts, parent.ts);
      assert.notEqual(e.ts, parent.ts);
      const r = inbound(toInbound(e, audience()));
      assert.equal(r.threadId, parent.ts);
      assert.equal(r.id, `${CHANNEL}:${e.ts}`, 'the id is the message, not the thread');
    });

    it('a mention in the middle of the text is removed without leaving a double space', () => {
      const e = ev(fake.mention({ channel: CHANNEL, user: ADA, text: `hey <@${fake.botUserId}> help me` }));
      assert.equal(inbound(toInbound(e, audience())).text, 'hey help me');
    });

    it('a mention with nothing else is skipped', () => {
      const e = ev({ type: 'app_mention', user: ADA, text: `<@${fake.botUserId}>`, ts: '1700000000.000100', channel: CHANNEL });
      skipped(toInbound(e, audience()), /nothing to answer/);
    });

    it('allow_channels: a mention elsewhere is skipped', () => {
      const who = audience({ allowChannels: [CHANNEL] });
      inbound(toInbound(ev(fake.mention({ channel: CHANNEL, user: ADA, text: 'ok' })), who));
      skipped(toInbound(ev(fake.mention({ channel: OTHER_CHANNEL, user: ADA, text: 'here?' })), who), /allow_channels/);
    });
  });

  describe('direct messages', () => {
    it('a message in an im is a dm, with no thread', () => {
      const e = ev(fake.directMessage({ channel: DM, user: ADA, text: 'hello bot' }));
      assert.equal(e.type, 'message');
      assert.equal(e.channel_type, 'im');
      const r = inbound(toInbound(e, audience()));
      assert.equal(r.chat.type, 'dm');
      assert.equal(r.chat.id, DM);
      assert.equal(r.text, 'hello bot');
      assert.equal(r.threadId, undefined);
      assert.equal('threadId' in r, false);
      assert.equal(r.id, `${DM}:${e.ts}`);
    });

    it('a dm inside a thread answers in that thread', () => {
      const parent = ev(fake.directMessage({ channel: DM, user: ADA, text: 'first' }));
      const e = ev(fake.directMessage({ channel: DM, user: ADA, text: 'more', thread_ts: parent.ts }));
      assert.equal(inbound(toInbound(e, audience())).threadId, parent.ts);
    });

    it('allow_channels does not apply to dms; allow_users does', () => {
      inbound(toInbound(ev(fake.directMessage({ channel: DM, user: ADA, text: 'hi' })), audience({ allowChannels: [CHANNEL] })));
      const who = audience({ allowUsers: [ADA] });
      inbound(toInbound(ev(fake.directMessage({ channel: DM, user: ADA, text: 'hi' })), who));
      skipped(toInbound(ev(fake.directMessage({ channel: 'D0BOB000001', user: BOB, text: 'hi' })), who), /allow_users/);
      skipped(toInbound(ev(fake.mention({ channel: CHANNEL, user: BOB, text: 'hi' })), who), /allow_users/);
    });

    it('file_share is kept, with the files as attachments referenced by url_private', () => {
      const png = fake.addFile(Buffer.alloc(300, 1), { name: 'chart.png', mimetype: 'image/png' });
      const pdf = fake.addFile(Buffer.from('%PDF-1.4\n'), { name: 'notes.pdf', mimetype: 'application/pdf' });
      const e = ev(fake.directMessage({ channel: DM, user: ADA, text: 'what is in these?', files: [png, pdf] }));
      assert.equal(e.subtype, 'file_share');
      const r = inbound(toInbound(e, audience()));
      assert.equal(r.text, 'what is in these?');
      assert.deepEqual(r.attachments, [
        { kind: 'image', ref: png.url_private, name: 'chart.png', mime: 'image/png', size: 300 },
        { kind: 'document', ref: pdf.url_private, name: 'notes.pdf', mime: 'application/pdf', size: pdf.size },
      ]);
    });

    it('a file without text is still a message; a file without url_private is dropped', () => {
      const png = fake.addFile(Buffer.alloc(10, 1), { name: 'x.png', mimetype: 'image/png' });
      const r = inbound(toInbound(ev(fake.directMessage({ channel: DM, user: ADA, text: '', files: [png] })), audience()));
      assert.equal(r.text, '');
      assert.equal(r.attachments.length, 1);
      const noUrl = ev({ type: 'message', subtype: 'file_share', channel_type: 'im', channel: DM, user: ADA, ts: '1700000001.000200', text: '', files: [{ id: 'F0EXTERNAL1', name: 'gdoc' }] });
      skipped(toInbound(noUrl, audience()), /nothing to answer/);
    });
  });

  describe('what is skipped', () => {
    it('bot messages: a bot_id, our own user, or no user at all', () => {
      skipped(toInbound(ev({ type: 'message', subtype: 'bot_message', bot_id: 'B0OTHER0001', channel_type: 'im', channel: DM, ts: '1.1', text: 'beep' }), audience()), /bot/);
      skipped(toInbound(ev({ type: 'message', channel_type: 'im', channel: DM, user: ADA, bot_id: 'B0OTHER0001', ts: '1.2', text: 'app posting as a user' }), audience()), /bot/);
      skipped(toInbound(ev({ type: 'message', channel_type: 'im', channel: DM, user: fake.botUserId, ts: '1.3', text: 'my own reply' }), audience()), /bot/);
      skipped(toInbound(ev({ type: 'app_mention', channel: CHANNEL, user: fake.botUserId, ts: '1.4', text: `<@${fake.botUserId}> echo` }), audience()));
    });

    it('subtypes: message_changed, message_deleted, channel_join are skipped', () => {
      const changed = ev({
        type: 'message', subtype: 'message_changed', channel_type: 'im', channel: DM, ts: '1700000002.000300', hidden: true,
        message: { type: 'message', user: ADA, text: 'edited text', ts: '1700000001.000100', edited: { user: ADA, ts: '1700000002.000000' } },
        previous_message: { type: 'message', user: ADA, text: 'text', ts: '1700000001.000100' },
      });
      skipped(toInbound(changed, audience()));
      skipped(toInbound(ev({ type: 'message', subtype: 'message_deleted', channel_type: 'im', channel: DM, ts: '1700000003.000400', hidden: true, deleted_ts: '1700000001.000100' }), audience()));
      // channel_join carries a user and a text ("<@U…> has joined the channel"): only the subtype tells.
      const join = ev({ type: 'message', subtype: 'channel_join', channel_type: 'im', channel: DM, user: ADA, ts: '1700000004.000500', text: `<@${ADA}> has joined the channel` });
      skipped(toInbound(join, audience()), /subtype channel_join/);
      const thread = ev({ type: 'message', subtype: 'thread_broadcast', channel_type: 'im', channel: DM, user: ADA, ts: '1700000005.000600', text: 'also in channel', thread_ts: '1700000001.000100' });
      skipped(toInbound(thread, audience()), /subtype/);
    });

    it('other events: reaction_added, member_joined_channel', () => {
      const reaction = ev({ type: 'reaction_added', user: ADA, reaction: 'thumbsup', item: { type: 'message', channel: CHANNEL, ts: '1.5' }, item_user: fake.botUserId, event_ts: '1.6' });
      skipped(toInbound(reaction, audience()), /not for the bot/);
      skipped(toInbound(ev({ type: 'member_joined_channel', user: ADA, channel: CHANNEL, channel_type: 'C', event_ts: '1.7' }), audience()), /not for the bot/);
    });

    it('a message in a channel without a mention (message.channels) is skipped, even one naming the bot', () => {
      const plain = ev({ type: 'message', channel_type: 'channel', channel: CHANNEL, user: ADA, ts: '1700000006.000700', text: 'chatting' });
      skipped(toInbound(plain, audience()), /not for the bot/);
      // Slack sends both message.channels and app_mention for a mention; only the app_mention counts.
      const named = ev({ type: 'message', channel_type: 'channel', channel: CHANNEL, user: ADA, ts: '1700000006.000800', text: `<@${fake.botUserId}> hi` });
      skipped(toInbound(named, audience()), /not for the bot/);
      // A group dm (mpim) without a mention is not a dm either.
      skipped(toInbound(ev({ type: 'message', channel_type: 'mpim', channel: 'G0MPIM00001', user: ADA, ts: '1.8', text: 'hi all' }), audience()), /not for the bot/);
    });
  });

  describe('text is passed on as written', () => {
    it('Slack\'s escaping of & < > is undone', () => {
      // Slack escapes these three characters in every message text (api.slack.com/reference/surfaces/formatting#escaping).
      const e = ev({ type: 'message', channel_type: 'im', channel: DM, user: ADA, ts: '1700000009.000100', text: 'is 1 &lt; 2 &amp;&amp; 3 &gt; 2?' });
      assert.equal(inbound(toInbound(e, audience())).text, 'is 1 < 2 && 3 > 2?');
    });

    it('indentation in a pasted code block survives', () => {
      const code = 'fix this:\n```\ndef f():\n    return 1\n```';
      const e = ev(fake.directMessage({ channel: DM, user: ADA, text: code }));
      assert.equal(inbound(toInbound(e, audience())).text, code);
    });
  });
});
