// The neutral types every part of clawdbot speaks. Adapters translate platform events into these and
// back; core code never names a platform. Fields are required unless a platform truly may not have them.
import type { Role } from './policy.ts';

/** What kind of conversation a message belongs to. */
export type ChatType = 'dm' | 'group' | 'channel';

/** A file that came with a message: a reference the adapter can fetch, never the bytes themselves. */
export interface Attachment {
  readonly kind: 'image' | 'document' | 'audio' | 'video' | 'file';
  /** Opaque to core: what the adapter needs to download it (Telegram file_id, Slack url_private, ...). */
  readonly ref: string;
  /** As the platform states them; the bytes decide the real type (magic numbers) when it matters. */
  readonly name: string | undefined;
  readonly mime: string | undefined;
  readonly size: number | undefined;
}

/** One message from a person, as an adapter hands it to the gateway. */
export interface InboundMessage {
  /** Adapter id ("websocket", "cli", "telegram", ...): the registry key. */
  readonly platform: string;
  /** The platform's id for this message; (platform, id) is the dedupe key of the durable inbox. */
  readonly id: string;
  readonly chat: { readonly id: string; readonly type: ChatType };
  readonly sender: { readonly id: string; readonly name?: string };
  readonly text: string;
  /** When the platform says it was sent (ms since epoch). */
  readonly sentAt: number;
  /** Thread or topic inside the chat (Slack thread_ts, Telegram message_thread_id); replies go there. */
  readonly threadId?: string;
  /** Platform id of the message this one answers, when it is a reply. */
  readonly replyTo?: string;
  readonly attachments: readonly Attachment[];
  /**
   * For transports whose clients name their own user (WebSocket, REST): the API key that let the client
   * in. Its role bounds the sender's: a non-Admin key acts with the key's role whoever the message
   * names; an Admin key acts for the user the message names (their role from security.roles), or as
   * Admin when it names none. Absent: the platform vouches for the sender (Telegram, Slack, terminal).
   */
  readonly authority?: { readonly principal: string; readonly role: Role };
}

/** One reply on its way out. `text` is Markdown; the adapter converts it to the platform's markup. */
export interface OutboundMessage {
  readonly platform: string;
  readonly chatId: string;
  /**
   * Platform id of the inbound message this answers; absent for a message nobody asked for right then
   * (a scheduled report, an approved command's result sent to its requester).
   */
  readonly inReplyTo?: string;
  /** Thread or topic of the inbound message, so the reply lands beside it. */
  readonly threadId?: string;
  /** Platform id of a message already posted for this reply (a streamed preview): edit it, don't post anew. */
  readonly editOf?: string;
  readonly text: string;
}

/** What an adapter reports after the platform accepted a reply (a long reply may become several messages). */
export interface DeliveryReceipt {
  readonly platformMessageIds: readonly string[];
  readonly sentAt: number;
}

/** Conditions of one routing rule; every present condition must hold. */
export interface RouteMatch {
  readonly platform?: readonly string[];
  /** The whole text equals this (after trimming). */
  readonly content?: string;
  readonly contentPrefix?: string;
  readonly contentRegex?: RegExp;
  readonly role?: readonly string[];
}

/** One routing rule. `match` is null for the `default:` entry. */
export interface Route {
  readonly index: number;
  readonly match: RouteMatch | null;
  readonly action: string;
  /** Where the rule was written ("routing.yaml:7:5"), for `route explain` and doctor. */
  readonly source: string;
}

/**
 * An action is a named thing a route points at (next to catalogue commands and workflows, in one
 * namespace). `role` says who may use it (any of them; Admin always may).
 */
export type Action =
  | { readonly kind: 'reply'; readonly name: string; readonly role: readonly Role[]; readonly template: string }
  | {
      readonly kind: 'llm';
      readonly name: string;
      readonly role: readonly Role[];
      /** Template of the system prompt; kept small on purpose (see docs/ARCHITECTURE.md). */
      readonly system: string;
      readonly maxTokens: number;
      readonly temperature: number;
      /** How many earlier turns of the session go with the message. */
      readonly historyTurns: number;
      /** Catalogue commands offered to the model as tools ('all', or by name; empty: none). */
      readonly tools: readonly string[] | 'all';
      readonly maxToolRounds: number;
    }
  /** Lists what the sender may use here (commands with their arguments, workflows, admin commands). */
  | { readonly kind: 'help'; readonly name: string; readonly role: readonly Role[] }
  /** Answers about the image or document sent with the message (media_processors). */
  | { readonly kind: 'media'; readonly name: string; readonly role: readonly Role[] };

/**
 * The outcome of running an action for one turn. A failure is a value with a short text for the user;
 * so is a policy denial (`reason` is for the log and audit, `text` for the person).
 */
export type ActionResult =
  | { readonly status: 'ok'; readonly text: string; readonly model?: string }
  | { readonly status: 'failed'; readonly text: string; readonly error: Error }
  | { readonly status: 'denied'; readonly text: string; readonly reason: string };

/** Who is talking, as the gateway resolved it. */
export interface Identity {
  readonly platform: string;
  readonly id: string;
  readonly name?: string;
  readonly role: Role;
}

/** One earlier exchange in a conversation. */
export interface HistoryEntry {
  readonly role: 'user' | 'assistant';
  readonly text: string;
  readonly at: number;
}
