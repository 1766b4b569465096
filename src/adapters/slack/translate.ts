// Slack event → InboundMessage. Pure functions over the Events API JSON
// (https://api.slack.com/events/app_mention, https://api.slack.com/events/message.im).
import type { Attachment, ChatType, InboundMessage } from '../../core/types.ts';

export interface SlackEvent {
  type: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  channel: string;
  channel_type?: 'im' | 'mpim' | 'channel' | 'group';
  files?: { id: string; name?: string; mimetype?: string; size?: number; url_private?: string }[];
}

export interface SlackAudience {
  readonly botUserId: string;
  readonly allowUsers: readonly string[];
  readonly allowChannels: readonly string[];
}

const CHAT_TYPES: Record<string, ChatType> = { im: 'dm', mpim: 'group', channel: 'channel', group: 'channel' };

/** `ts` is unique within a channel: our id joins both. */
export const messageId = (channel: string, ts: string) => `${channel}:${ts}`;

/**
 * app_mention (channels) and message events in direct messages become messages; everything else
 * (edits, joins, bot messages, our own, other channels' chatter) is skipped with the reason.
 */
export function toInbound(e: SlackEvent, who: SlackAudience): InboundMessage | { skip: string } {
  const isMention = e.type === 'app_mention';
  const isDm = e.type === 'message' && e.channel_type === 'im';
  if (!isMention && !isDm) return { skip: `event ${e.type}${e.channel_type ? ` in ${e.channel_type}` : ''} is not for the bot` };
  if (e.bot_id || !e.user || e.user === who.botUserId) return { skip: 'sent by a bot' };
  // file_share carries files with text; every other subtype is an edit, a join, a deletion ...
  if (e.subtype && e.subtype !== 'file_share') return { skip: `message subtype ${e.subtype}` };
  if (who.allowChannels.length > 0 && !isDm && !who.allowChannels.includes(e.channel)) return { skip: `channel ${e.channel} not in allow_channels` };
  if (who.allowUsers.length > 0 && !who.allowUsers.includes(e.user)) return { skip: `user ${e.user} not in allow_users` };
  // Our mention (also in its <@U…|name> form) goes with one space; Slack escapes & < > in message
  // text, which is undone here (&amp; last) so the router and the model see what the person typed.
  const mention = new RegExp(` ?<@${who.botUserId}(?:\\|[^>]*)?> ?`, 'g');
  const text = (e.text ?? '').replace(mention, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').trim();
  const attachments: Attachment[] = (e.files ?? [])
    .filter((f) => f.url_private)
    .map((f) => ({ kind: f.mimetype?.startsWith('image/') ? 'image' : 'document', ref: f.url_private!, name: f.name, mime: f.mimetype, size: f.size }));
  if (!text && attachments.length === 0) return { skip: 'nothing to answer' };
  // In a channel the answer goes into the thread of the mention (started by it if need be); in a DM
  // it stays in the conversation unless the question was asked in a thread.
  const threadId = isDm ? e.thread_ts : (e.thread_ts ?? e.ts);
  return {
    platform: 'slack',
    id: messageId(e.channel, e.ts),
    chat: { id: e.channel, type: isDm ? 'dm' : (CHAT_TYPES[e.channel_type ?? 'channel'] ?? 'channel') },
    sender: { id: e.user },
    text,
    sentAt: Math.round(Number(e.ts) * 1000),
    ...(threadId ? { threadId } : {}),
    attachments,
  };
}
