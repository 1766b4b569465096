// Telegram Update → InboundMessage (src/adapters/telegram/translate.ts), a pure function. Messages come
// from the fake Bot API's builders (which compute entities the way Telegram does) or are written by
// hand as Bot API JSON where the builders cannot express the case (a reply to the bot, a bot sender).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageId, messageIdInChat, toInbound, type Audience, type TgMessage } from '../src/adapters/telegram/translate.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { startFakeTelegram, type FakeTelegram, type TextMessageOpts } from './fakes/telegram.ts';

let fake: FakeTelegram;
let BOT: { id: number; username: string };
const GROUP = -1001234567890; // a supergroup
const SMALL_GROUP = -4242; // a basic group
const ADA = { id: 1001, first_name: 'Ada', last_name: 'Lovelace', username: 'ada_l' };
const BOB = { id: 1002, first_name: 'Bob' };

const audience = (o: Partial<Audience> = {}): Audience => ({
  botId: BOT.id,
  botUsername: BOT.username,
  allowUsers: [],
  allowChats: [],
  groupMode: 'mention',
  ...o,
});

/** The Message inside an Update built by the fake. */
const msg = (u: object): TgMessage => (u as { message: TgMessage }).message;
const text = (o: TextMessageOpts): TgMessage => msg(fake.textMessage(o));
const inbound = (r: InboundMessage | { skip: string }): InboundMessage => {
  if ('skip' in r) assert.fail(`expected a message, got skip: ${r.skip}`);
  return r;
};
const skipped = (r: InboundMessage | { skip: string }, reason?: RegExp): string => {
  assert.ok('skip' in r, `expected a skip, got a message with text ${JSON.stringify((r as InboundMessage).text)}`);
  if (reason) assert.match(r.skip, reason);
  return r.skip;
};

describe('telegram translate: toInbound', () => {
  before(async () => {
    fake = await startFakeTelegram();
    BOT = fake.bot;
  });
  after(async () => {
    await fake.close();
  });

  describe('private chats', () => {
    it('a private message becomes a dm with the sender, ids joined as chat:message_id', () => {
      const m = text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'hello there' });
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.platform, 'telegram');
      assert.equal(r.chat.type, 'dm');
      assert.equal(r.chat.id, String(ADA.id));
      assert.equal(r.id, `${ADA.id}:${m.message_id}`);
      assert.equal(r.sender.id, String(ADA.id));
      assert.equal(r.sender.name, 'Ada Lovelace');
      assert.equal(r.text, 'hello there');
      assert.equal(r.sentAt, m.date * 1000);
      assert.deepEqual(r.attachments, []);
      assert.equal(r.threadId, undefined);
      assert.equal(r.replyTo, undefined);
    });

    it('message ids are per chat: the same message_id in two chats gives two ids', () => {
      const a = text({ chatId: 2001, chatType: 'private', from: { id: 2001 }, text: 'one' });
      const b = text({ chatId: 2002, chatType: 'private', from: { id: 2002 }, text: 'one' });
      assert.equal(a.message_id, b.message_id, 'the fake numbers messages per chat, like Telegram');
      const ia = inbound(toInbound(a, audience())).id;
      const ib = inbound(toInbound(b, audience())).id;
      assert.notEqual(ia, ib);
      assert.equal(ia, messageId(2001, a.message_id));
      assert.equal(messageIdInChat(ia), a.message_id);
      assert.equal(messageIdInChat(messageId(GROUP, 77)), 77, 'a negative chat id does not confuse the split');
    });

    it('a plain message in a dm is answered even in mention mode, and a /command is kept as written', () => {
      const r = inbound(toInbound(text({ chatId: 2003, chatType: 'private', from: { id: 2003 }, text: '/start' }), audience()));
      assert.equal(r.text, '/start');
    });

    it('the sender name falls back to the username when there is no name', () => {
      const m: TgMessage = {
        message_id: 9, date: 1_700_000_000,
        chat: { id: 2004, type: 'private' },
        from: { id: 2004, is_bot: false, username: 'only_handle' },
        text: 'hi',
      };
      assert.equal(inbound(toInbound(m, audience())).sender.name, 'only_handle');
    });

    it('an empty message (a sticker, a location ...) is skipped', () => {
      const m: TgMessage = { message_id: 10, date: 1_700_000_000, chat: { id: 2005, type: 'private' }, from: { id: 2005, is_bot: false, first_name: 'X' } };
      skipped(toInbound(m, audience()), /nothing to answer/);
    });
  });

  describe('groups, group_mode mention', () => {
    it('plain text that does not address the bot is skipped', () => {
      skipped(toInbound(text({ chatId: GROUP, from: ADA, text: 'talking among ourselves' }), audience()), /not addressed/);
    });

    it('@botname hi is answered with the mention stripped', () => {
      const m = text({ chatId: GROUP, from: ADA, text: `@${BOT.username} hi` });
      assert.deepEqual(m.entities, [{ type: 'mention', offset: 0, length: BOT.username.length + 1 }], 'the fake marks the mention');
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.text, 'hi');
      assert.equal(r.chat.type, 'group');
      assert.equal(r.chat.id, String(GROUP));
    });

    it('a mention in the middle of the text is cut out without leaving a double space', () => {
      const r = inbound(toInbound(text({ chatId: GROUP, from: ADA, text: `what do you think @${BOT.username} about this?` }), audience()));
      assert.equal(r.text, 'what do you think about this?');
    });

    it('the mention is matched case-insensitively', () => {
      const r = inbound(toInbound(text({ chatId: GROUP, from: ADA, text: `@${BOT.username.toUpperCase()} shout` }), audience()));
      assert.equal(r.text, 'shout');
    });

    it('offsets are UTF-16 units: a mention after an emoji is cut at the right place', () => {
      const m = text({ chatId: GROUP, from: ADA, text: `🙂🙂 @${BOT.username} emoji first` });
      assert.equal(m.entities?.[0]?.offset, 5, 'two surrogate pairs and a space');
      assert.equal(inbound(toInbound(m, audience())).text, '🙂🙂 emoji first');
    });

    it('a mention of somebody else does not address the bot', () => {
      const m = text({ chatId: GROUP, from: ADA, text: '@someone_else look at this' });
      assert.equal(m.entities?.[0]?.type, 'mention');
      skipped(toInbound(m, audience()), /not addressed/);
    });

    it('a mention alone, with nothing to answer, is skipped', () => {
      skipped(toInbound(text({ chatId: GROUP, from: ADA, text: `@${BOT.username}` }), audience()), /nothing to answer/);
    });

    it('/start@botname becomes "/start" (so routes for /start match in groups), arguments kept', () => {
      const m = text({ chatId: GROUP, from: ADA, text: `/start@${BOT.username}` });
      assert.deepEqual(m.entities, [{ type: 'bot_command', offset: 0, length: `/start@${BOT.username}`.length }]);
      assert.equal(inbound(toInbound(m, audience())).text, '/start');
      const withArgs = inbound(toInbound(text({ chatId: GROUP, from: ADA, text: `/help@${BOT.username} me please` }), audience()));
      assert.equal(withArgs.text, '/help me please');
    });

    it('/start@otherbot is skipped, in a group and in a dm alike', () => {
      skipped(toInbound(text({ chatId: GROUP, from: ADA, text: '/start@other_helper_bot' }), audience()), /another bot/);
      skipped(toInbound(text({ chatId: GROUP, from: ADA, text: '/start@other_helper_bot' }), audience({ groupMode: 'all' })), /another bot/);
      skipped(toInbound(text({ chatId: 2006, chatType: 'private', from: { id: 2006 }, text: '/start@other_helper_bot' }), audience()), /another bot/);
    });

    it('a bare /command in a group addresses the bot', () => {
      assert.equal(inbound(toInbound(text({ chatId: SMALL_GROUP, chatType: 'group', from: ADA, text: '/start' }), audience())).text, '/start');
    });

    it('a reply to the bot\'s own message is answered; a reply to somebody else\'s is not', () => {
      const base = { date: 1_700_000_000, chat: { id: GROUP, type: 'supergroup' as const, title: 'G' }, from: { id: ADA.id, is_bot: false, first_name: 'Ada' } };
      const toBot: TgMessage = { ...base, message_id: 51, text: 'and what about tomorrow?', reply_to_message: { message_id: 50, from: { id: BOT.id } } };
      const r = inbound(toInbound(toBot, audience()));
      assert.equal(r.text, 'and what about tomorrow?');
      assert.equal(r.replyTo, `${GROUP}:50`);
      const toBob: TgMessage = { ...base, message_id: 53, text: 'agreed', reply_to_message: { message_id: 52, from: { id: BOB.id } } };
      skipped(toInbound(toBob, audience()), /not addressed/);
    });

    it('a caption that mentions the bot addresses it (caption_entities are read)', () => {
      const m = msg(fake.photoMessage({ chatId: GROUP, from: ADA, caption: `@${BOT.username} what is this?` }));
      assert.ok(m.caption_entities?.length, 'the fake marks the caption mention');
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.text, 'what is this?');
      assert.equal(r.attachments.length, 1);
    });
  });

  describe('groups, group_mode all', () => {
    it('answers every message, mention or not', () => {
      const who = audience({ groupMode: 'all' });
      assert.equal(inbound(toInbound(text({ chatId: GROUP, from: ADA, text: 'talking among ourselves' }), who)).text, 'talking among ourselves');
      assert.equal(inbound(toInbound(text({ chatId: SMALL_GROUP, chatType: 'group', from: BOB, text: 'me too' }), who)).text, 'me too');
      // The mention is still stripped.
      assert.equal(inbound(toInbound(text({ chatId: GROUP, from: ADA, text: `@${BOT.username} hey` }), who)).text, 'hey');
    });
  });

  describe('who may talk to the bot', () => {
    it('allow_users by numeric id', () => {
      const who = audience({ allowUsers: [String(ADA.id)] });
      inbound(toInbound(text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'ok' }), who));
      skipped(toInbound(text({ chatId: BOB.id, chatType: 'private', from: BOB, text: 'me?' }), who), /allow_users/);
    });

    it('allow_users by @username', () => {
      const who = audience({ allowUsers: [`@${ADA.username}`] });
      inbound(toInbound(text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'ok' }), who));
      skipped(toInbound(text({ chatId: BOB.id, chatType: 'private', from: BOB, text: 'me?' }), who), /allow_users/);
      // A username without the @ is not an id: it does not let anybody in by accident.
      skipped(toInbound(text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'ok' }), audience({ allowUsers: [ADA.username] })), /allow_users/);
    });

    it('allow_users by @username ignores case, as Telegram usernames do', () => {
      const who = audience({ allowUsers: ['@Ada_L'] });
      inbound(toInbound(text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'ok' }), who));
    });

    it('allow_chats: only the listed chats, dms included', () => {
      const who = audience({ allowChats: [String(GROUP)], groupMode: 'all' });
      inbound(toInbound(text({ chatId: GROUP, from: ADA, text: 'in the allowed group' }), who));
      skipped(toInbound(text({ chatId: SMALL_GROUP, chatType: 'group', from: ADA, text: 'elsewhere' }), who), /allow_chats/);
      skipped(toInbound(text({ chatId: ADA.id, chatType: 'private', from: ADA, text: 'in private' }), who), /allow_chats/);
    });

    it('both lists together: the chat and the user must both be allowed', () => {
      const who = audience({ allowChats: [String(GROUP)], allowUsers: [String(ADA.id)], groupMode: 'all' });
      inbound(toInbound(text({ chatId: GROUP, from: ADA, text: 'ok' }), who));
      skipped(toInbound(text({ chatId: GROUP, from: BOB, text: 'not me' }), who), /allow_users/);
    });

    it('messages from bots are skipped, even addressed to us and allowed', () => {
      const m = text({ chatId: GROUP, from: { id: 555, first_name: 'Other', username: 'other_bot', is_bot: true }, text: `@${BOT.username} ping` });
      assert.equal(m.from?.is_bot, true);
      skipped(toInbound(m, audience({ groupMode: 'all', allowUsers: ['555'] })), /bot/);
    });

    it('a message without a sender (a channel post) is skipped', () => {
      const u = fake.textMessage({ chatId: -1009999, chatType: 'channel', text: 'announcement' }) as { channel_post?: TgMessage };
      assert.ok(u.channel_post, 'a channel post');
      skipped(toInbound(u.channel_post, audience({ groupMode: 'all' })), /sender/);
    });
  });

  describe('attachments, topics, replies', () => {
    it('a photo with a caption: the caption is the text, the largest size the attachment', () => {
      const bytes = Buffer.alloc(5000, 7);
      const m = msg(fake.photoMessage({ chatId: 3001, chatType: 'private', from: { id: 3001 }, bytes, caption: 'look at this' }));
      assert.equal(m.photo?.length, 2);
      const largest = m.photo!.at(-1)!;
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.text, 'look at this');
      assert.equal(r.attachments.length, 1);
      const a = r.attachments[0]!;
      assert.equal(a.kind, 'image');
      assert.equal(a.ref, largest.file_id);
      assert.notEqual(a.ref, m.photo![0]!.file_id, 'not the thumbnail');
      assert.equal(a.size, 5000);
      assert.equal(a.mime, 'image/jpeg');
    });

    it('a photo without a caption is still a message (the file is something to answer)', () => {
      const r = inbound(toInbound(msg(fake.photoMessage({ chatId: 3002, chatType: 'private', from: { id: 3002 } })), audience()));
      assert.equal(r.text, '');
      assert.equal(r.attachments.length, 1);
    });

    it('a document keeps its name, mime type and size', () => {
      const bytes = Buffer.from('%PDF-1.4 not really\n');
      const m = msg(fake.documentMessage({ chatId: 3003, chatType: 'private', from: { id: 3003 }, bytes, fileName: 'report.pdf', mimeType: 'application/pdf', caption: 'summarise' }));
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.text, 'summarise');
      assert.deepEqual(r.attachments, [{ kind: 'document', ref: m.document!.file_id, name: 'report.pdf', mime: 'application/pdf', size: bytes.length }]);
    });

    it("a picture sent as a file (uncompressed) is an image: the seed's image_analysis handler takes it", () => {
      const bytes = Buffer.from('\x89PNG\r\n\x1a\n', 'latin1');
      const m = msg(fake.documentMessage({ chatId: 3004, chatType: 'private', from: { id: 3004 }, bytes, fileName: 'shot.png', mimeType: 'image/png', caption: 'what is this?' }));
      assert.deepEqual(inbound(toInbound(m, audience())).attachments, [{ kind: 'image', ref: m.document!.file_id, name: 'shot.png', mime: 'image/png', size: bytes.length }]);
    });

    it('voice, audio and video are attachments of their kind', () => {
      const m: TgMessage = {
        message_id: 1, date: 1_700_000_000, chat: { id: 3004, type: 'private' }, from: { id: 3004, is_bot: false, first_name: 'V' },
        voice: { file_id: 'VOICE1', mime_type: 'audio/ogg', file_size: 1234 },
      };
      assert.deepEqual(inbound(toInbound(m, audience())).attachments, [{ kind: 'audio', ref: 'VOICE1', name: undefined, mime: 'audio/ogg', size: 1234 }]);
      const v: TgMessage = { ...m, voice: undefined, video: { file_id: 'VID1', file_name: 'clip.mp4', mime_type: 'video/mp4', file_size: 99 } };
      assert.equal(inbound(toInbound(v, audience())).attachments[0]!.kind, 'video');
    });

    it('a message in a forum topic carries the topic as threadId', () => {
      const m = text({ chatId: GROUP, from: ADA, threadId: 77, text: `@${BOT.username} in a topic` });
      assert.equal(m.is_topic_message, true);
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.threadId, '77');
      assert.equal(r.text, 'in a topic');
    });

    it('message_thread_id without is_topic_message (a reply thread outside forums) is not a topic', () => {
      const m: TgMessage = {
        message_id: 5, date: 1_700_000_000, chat: { id: SMALL_GROUP, type: 'group' }, from: { id: ADA.id, is_bot: false, first_name: 'Ada' },
        text: 'x', message_thread_id: 4, reply_to_message: { message_id: 4, from: { id: BOT.id } },
      };
      const r = inbound(toInbound(m, audience()));
      assert.equal(r.threadId, undefined);
      assert.equal(r.replyTo, `${SMALL_GROUP}:4`);
    });

    it('reply_to becomes replyTo in the same chat', () => {
      const first = text({ chatId: 3005, chatType: 'private', from: { id: 3005 }, text: 'first' });
      const second = text({ chatId: 3005, chatType: 'private', from: { id: 3005 }, replyTo: first.message_id, text: 'about that' });
      assert.equal(second.reply_to_message?.message_id, first.message_id);
      assert.equal(inbound(toInbound(second, audience())).replyTo, `3005:${first.message_id}`);
    });
  });

  describe('text is passed on as written', () => {
    it('indentation in a pasted code block survives (dm, nothing to strip)', () => {
      const code = 'fix this:\ndef f():\n    return 1';
      const r = inbound(toInbound(text({ chatId: 3006, chatType: 'private', from: { id: 3006 }, text: code }), audience()));
      assert.equal(r.text, code);
    });
  });
});
