// Telegram Update → InboundMessage, and who gets answered. Pure functions over the Bot API's JSON
// (https://core.telegram.org/bots/api#message), no client library: easy to test on recorded updates.
import type { Attachment, ChatType, InboundMessage } from '../../core/types.ts';

/** The parts of a Bot API Message this adapter reads. */
export interface TgMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: 'private' | 'group' | 'supergroup' | 'channel'; title?: string; username?: string };
  from?: { id: number; is_bot: boolean; first_name?: string; last_name?: string; username?: string };
  text?: string;
  caption?: string;
  entities?: TgEntity[];
  caption_entities?: TgEntity[];
  message_thread_id?: number;
  is_topic_message?: boolean;
  reply_to_message?: { message_id: number; from?: { id: number } };
  photo?: { file_id: string; file_size?: number; width: number; height: number }[];
  document?: { file_id: string; file_name?: string; mime_type?: string; file_size?: number };
  audio?: { file_id: string; file_name?: string; mime_type?: string; file_size?: number };
  voice?: { file_id: string; mime_type?: string; file_size?: number };
  video?: { file_id: string; file_name?: string; mime_type?: string; file_size?: number };
}

export interface TgEntity { type: string; offset: number; length: number }

export interface Audience {
  readonly botId: number;
  readonly botUsername: string;
  readonly allowUsers: readonly string[];
  readonly allowChats: readonly string[];
  readonly groupMode: 'mention' | 'all';
}

const CHAT_TYPES: Record<TgMessage['chat']['type'], ChatType> = { private: 'dm', group: 'group', supergroup: 'group', channel: 'channel' };

/** Platform message ids are unique per chat only: ours join both. */
export const messageId = (chatId: number | string, messageIdInChat: number | string) => `${chatId}:${messageIdInChat}`;
export const messageIdInChat = (id: string) => Number(id.slice(id.lastIndexOf(':') + 1));

/**
 * Translates a message, or returns why it is not for us: from a bot, not allowed, or (in a group with
 * group_mode mention) neither addressed to the bot by @mention, by a /command, nor a reply to it.
 */
export function toInbound(m: TgMessage, who: Audience): InboundMessage | { skip: string } {
  const from = m.from;
  if (!from) return { skip: 'no sender (channel post)' };
  if (from.is_bot) return { skip: 'sent by a bot' };
  if (who.allowChats.length > 0 && !who.allowChats.includes(String(m.chat.id))) return { skip: `chat ${m.chat.id} not in allow_chats` };
  // Usernames are case-insensitive on Telegram.
  const uname = from.username?.toLowerCase();
  if (who.allowUsers.length > 0 && !who.allowUsers.some((u) => u === String(from.id) || (uname !== undefined && u.toLowerCase() === `@${uname}`))) {
    return { skip: `user ${from.id} not in allow_users` };
  }
  const raw = m.text ?? m.caption ?? '';
  const entities = (m.text !== undefined ? m.entities : m.caption_entities) ?? [];
  const type = CHAT_TYPES[m.chat.type];
  const addressed = addressedText(raw, entities, who);
  if (addressed === null) return { skip: 'a command for another bot' };
  if (type !== 'dm' && who.groupMode === 'mention' && !addressed.toUs && m.reply_to_message?.from?.id !== who.botId) {
    return { skip: 'group message not addressed to the bot' };
  }
  const attachments = attachmentsOf(m);
  const text = addressed.text.trim();
  if (!text && attachments.length === 0) return { skip: 'nothing to answer (no text, no file)' };
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username;
  return {
    platform: 'telegram',
    id: messageId(m.chat.id, m.message_id),
    chat: { id: String(m.chat.id), type },
    sender: { id: String(from.id), ...(name ? { name } : {}) },
    text,
    sentAt: m.date * 1000,
    ...(m.is_topic_message && m.message_thread_id !== undefined ? { threadId: String(m.message_thread_id) } : {}),
    ...(m.reply_to_message ? { replyTo: messageId(m.chat.id, m.reply_to_message.message_id) } : {}),
    attachments,
  };
}

/**
 * The text with our @mention removed and "/start@OurBot" shortened to "/start" (so routes written for
 * "/start" match in groups too); `toUs` when the message mentions or commands this bot. null when the
 * message is a command for another bot.
 */
function addressedText(text: string, entities: readonly TgEntity[], who: Audience): { text: string; toUs: boolean } | null {
  const me = `@${who.botUsername}`.toLowerCase();
  let toUs = false;
  let out = text;
  // Right to left, so earlier offsets stay valid while cutting (offsets are UTF-16 units, like JS strings).
  for (const e of [...entities].sort((a, b) => b.offset - a.offset)) {
    const piece = text.slice(e.offset, e.offset + e.length);
    if (e.type === 'mention' && piece.toLowerCase() === me) {
      toUs = true;
      // Cut the mention and one space beside it; the rest of the text keeps its spacing (code!).
      let start = e.offset;
      let end = e.offset + e.length;
      if (out[end] === ' ') end++;
      else if (start > 0 && out[start - 1] === ' ') start--;
      out = out.slice(0, start) + out.slice(end);
    } else if (e.type === 'bot_command' && e.offset === 0) {
      const at = piece.indexOf('@');
      if (at < 0) toUs = true;
      else if (piece.slice(at).toLowerCase() === me) {
        toUs = true;
        out = piece.slice(0, at) + out.slice(e.length);
      } else return null;
    }
  }
  return { text: out, toUs };
}

function attachmentsOf(m: TgMessage): Attachment[] {
  const out: Attachment[] = [];
  if (m.photo?.length) {
    // Telegram sends every size; the last is the largest.
    const p = m.photo[m.photo.length - 1]!;
    out.push({ kind: 'image', ref: p.file_id, name: undefined, mime: 'image/jpeg', size: p.file_size });
  }
  const file = (kind: Attachment['kind'], f: { file_id: string; file_name?: string; mime_type?: string; file_size?: number } | undefined) => {
    if (f) out.push({ kind, ref: f.file_id, name: f.file_name, mime: f.mime_type, size: f.file_size });
  };
  // A picture sent as a file keeps its quality; it is still an image (as on Slack, by its MIME type).
  file(m.document?.mime_type?.startsWith('image/') ? 'image' : 'document', m.document);
  file('audio', m.audio);
  file('audio', m.voice);
  file('video', m.video);
  return out;
}
