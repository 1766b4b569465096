// A protocol-faithful fake Slack: the Web API, Socket Mode and file downloads on one real
// node:http server on 127.0.0.1, plus helpers that play Slack's side of the Events API (signed HTTP
// requests to OUR endpoint). Driven in tests by the real clients (@slack/web-api WebClient, a Bolt App
// in Socket Mode). Wire formats follow api.slack.com / docs.slack.dev method pages (error names as the
// method tables list them), the "Using Socket Mode" guide (hello / envelope / ack / disconnect shapes)
// and the envelopes used by slackapi's own socket-mode test servers.
//
// Exported API
//   startFakeSlack(opts?: FakeSlackOptions): Promise<FakeSlack>
//     url                      http://127.0.0.1:PORT. Web API base for clients: `${url}/api/`
//     botToken appToken botUserId botId teamId appId   identities (options override the defaults)
//     options                  the live FakeSlackOptions (mutable: changes apply to the next request/delivery)
//     requests                 every Web API call: { method, params, token?, httpMethod, contentType, status, response }
//                              params: form/query fields as the strings sent, JSON-typed fields (blocks,
//                              attachments, metadata) decoded; a JSON body as sent. The token is not in params.
//     posted                   chat.postMessage / chat.update results in order: { method, channel, ts, text?, blocks?, thread_ts? }
//     reactions                reactions.add / reactions.remove in order: { name, channel, timestamp, removed? }
//     acks                     Socket Mode acks received: { envelope_id, payload?, event_id?, at }
//     deliveries               Socket Mode envelopes sent: { envelope_id, type, payload, event_id?, retry_attempt, retry_reason, connection }
//     downloads                url_private fetches: { fileId, authorized, status }
//     socketMessages           anything else clients sent over Socket Mode (parsed JSON or raw text)
//     connectionsOpened()      Socket Mode connections accepted so far; socketCount() open ones now
//     pingsReceived()          WebSocket ping frames received from clients (answered with pong unless options.answerPings === false)
//     addFile(bytes, opts?)    a hosted file: returns the Slack file object (id, name, mimetype, size, url_private, url_private_download, ...)
//     message(channel, ts)     the stored message (posted by the bot or built by mention()/directMessage()), if any
//     mention(opts)            a realistic `app_mention` event (text contains <@BOTUSERID>); stored so reactions/threads can refer to it
//     directMessage(opts)      a `message` event with channel_type 'im' (subtype 'file_share' when files are given)
//     eventCallback(event, o?) the full Events API `event_callback` body around an event (for signedRequest or pushEvent)
//     pushEvent(event, o?)     sends an `events_api` envelope to ONE open socket (round robin, as Slack does with several
//                              connections; queued until a socket connects); returns the envelope_id. Unacked envelopes are
//                              redelivered after options.ackTimeoutMs with retry_attempt + 1 and retry_reason 'timeout', at most
//                              options.maxRetries times, each time under a NEW envelope_id (the event_id stays: dedupe on it).
//     pushEnvelope(type, payload, o?)  any other envelope ('interactive', 'slash_commands', ...), never redelivered
//     waitForAck(envelopeId, timeoutMs?)  resolves with the ack record
//     failNext(method, res, times?)    the next `times` calls of `method` ('*' = any) fail: { status?, error?, retryAfter?, hang? }.
//                              retryAfter (or status 429) -> HTTP 429 + Retry-After + {"ok":false,"error":"ratelimited"};
//                              error alone -> HTTP 200 {"ok":false,"error":...}; status >= 500 -> that status (HTML body unless error);
//                              hang -> never answers (until close()).
//     handle(method, fn)       adds or overrides a Web API method (bot token required): fn(params, ctx) returns the body
//                              (ok added) or throws slackError(code, extra?)
//     disconnectAll(reason?)   sends {"type":"disconnect","reason":...} (default 'refresh_requested') to every socket; unless the
//                              reason is 'warning', closes the sockets the client has not closed after options.disconnectGraceMs
//     dropAll()                kills every socket without a close frame (network loss)
//     close()                  stops everything: closes sockets with a close handshake (cut off after 300 ms), destroys
//                              keep-alive connections and hanging responses, clears timers. Stop Bolt apps BEFORE this.
//   signedRequest(targetUrl, signingSecret, body, opts?)   POSTs like Slack's Events API: X-Slack-Request-Timestamp, X-Slack-Signature
//                              (v0= + hex HMAC-SHA256 of `v0:{ts}:{raw body}`), X-Slack-Retry-Num / X-Slack-Retry-Reason when retrying
//   urlVerification(targetUrl, signingSecret, challenge?)  sends the signed {token, challenge, type:'url_verification'} request
//   slackSignature(secret, timestamp, rawBody)              the X-Slack-Signature value
//   SLACK_TEXT_LIMIT (40000), SECTION_TEXT_LIMIT (3000)
//
// Modelling choices (not documented by Slack, chosen to be plausible and testable):
//   - text longer than 40,000 characters (code points) -> msg_too_long (Slack documents truncation "or risk truncation").
//   - an unknown method -> HTTP 200 {"ok":false,"error":"unknown_method","req_method":...}; an unparsable JSON body -> invalid_json.
//   - a WebSocket upgrade with an unknown or already used ticket -> HTTP 401 (tickets are single use).
//   - url_private without a valid bot token -> 302 to the workspace sign-in page (an HTML page served with 200, so a client that
//     follows redirects gets HTML instead of the file, like the real thing); options.fileAuthFailure = 'forbidden' answers 403.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export const SLACK_TEXT_LIMIT = 40_000;
export const SECTION_TEXT_LIMIT = 3_000;
const HEADER_TEXT_LIMIT = 150;
const SECTION_FIELD_LIMIT = 2_000;
const MARKDOWN_BLOCK_LIMIT = 12_000;
const MAX_BLOCKS = 50;
const JSON_TYPE = 'application/json; charset=utf-8';
const SLACKBOT_UA = 'Slackbot 1.0 (+https://api.slack.com/robots)';
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'unfurls', 'view', 'chunks']);

export interface FakeSlackOptions {
  port?: number;
  botToken?: string;
  appToken?: string;
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  appId?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  /** The deprecated verification token carried in event payloads. */
  verificationToken?: string;
  /** When set, the only channel IDs that exist; otherwise any ID like C…/G…/D… exists. */
  channels?: string[];
  /** Extra user profiles for users.info (any U…/W… ID exists otherwise). */
  users?: Record<string, { name?: string; real_name?: string; is_bot?: boolean; deleted?: boolean; tz?: string; email?: string }>;
  /** Scopes reported in the X-OAuth-Scopes header of bot-token calls. */
  scopes?: string[];
  /** Socket Mode: redeliver an unacked events_api envelope after this long (Slack: about 3 s). 0 = never. */
  ackTimeoutMs?: number;
  /** Socket Mode: how many redeliveries at most (Slack retries 3 times). */
  maxRetries?: number;
  /** Socket Mode: send a ping frame to each socket this often; 0 (default) = never. */
  pingIntervalMs?: number;
  /** Socket Mode: answer client pings with pongs (default true). */
  answerPings?: boolean;
  /** Socket Mode: after a disconnect message, close sockets the client left open after this long (default 1000). */
  disconnectGraceMs?: number;
  /** Send the bot's own chat.postMessage back as a `message` event over Socket Mode, as Slack does. Default false. */
  echoBotMessages?: boolean;
  /** url_private without a valid bot token: 'redirect' (302 to the sign-in page, default) or 'forbidden' (403). */
  fileAuthFailure?: 'redirect' | 'forbidden';
}

export interface RecordedSlackRequest {
  method: string;
  params: Record<string, unknown>;
  token?: string;
  httpMethod: string;
  contentType?: string;
  status: number;
  response?: unknown;
}

export interface PostedMessage {
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  thread_ts?: string;
}

export interface ReactionRecord {
  name: string;
  channel: string;
  timestamp: string;
  removed?: boolean;
}

export interface AckRecord {
  envelope_id: string;
  payload?: unknown;
  event_id?: string;
  at: number;
}

export interface DeliveryRecord {
  envelope_id: string;
  type: string;
  payload: Record<string, unknown>;
  event_id?: string;
  retry_attempt: number;
  retry_reason: string;
  connection: number;
}

export interface SlackFile {
  id: string;
  created: number;
  timestamp: number;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  pretty_type: string;
  user: string;
  user_team: string;
  editable: boolean;
  size: number;
  mode: 'hosted';
  is_external: boolean;
  external_type: string;
  is_public: boolean;
  public_url_shared: boolean;
  display_as_bot: boolean;
  username: string;
  url_private: string;
  url_private_download: string;
  permalink: string;
  is_starred: boolean;
  has_rich_preview: boolean;
  file_access: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  user: string;
  bot_id?: string;
  thread_ts?: string;
  deleted?: boolean;
  reactions: Map<string, Set<string>>;
}

export interface FailureSpec {
  status?: number;
  error?: string;
  retryAfter?: number;
  hang?: boolean;
}

export interface MethodContext {
  token: string;
  fake: FakeSlack;
}

export type MethodHandler = (params: Record<string, unknown>, ctx: MethodContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface MessageOpts {
  channel: string;
  user: string;
  text: string;
  thread_ts?: string;
  files?: object[];
  ts?: string;
}

export interface FakeSlack {
  url: string;
  botToken: string;
  appToken: string;
  botUserId: string;
  botId: string;
  teamId: string;
  appId: string;
  options: FakeSlackOptions;
  requests: RecordedSlackRequest[];
  posted: PostedMessage[];
  reactions: ReactionRecord[];
  acks: AckRecord[];
  deliveries: DeliveryRecord[];
  downloads: { fileId: string; authorized: boolean; status: number }[];
  socketMessages: unknown[];
  addFile(bytes: Buffer, opts?: { name?: string; mimetype?: string; title?: string; user?: string }): SlackFile;
  message(channel: string, ts: string): StoredMessage | undefined;
  mention(opts: MessageOpts): Record<string, unknown>;
  directMessage(opts: MessageOpts): Record<string, unknown>;
  eventCallback(event: object, opts?: { eventId?: string }): Record<string, unknown>;
  pushEvent(event: object, opts?: { eventId?: string }): string;
  pushEnvelope(type: string, payload: object, opts?: { acceptsResponsePayload?: boolean }): string;
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<AckRecord>;
  failNext(method: string, res: FailureSpec, times?: number): void;
  handle(method: string, fn: MethodHandler): void;
  disconnectAll(reason?: string): void;
  dropAll(): void;
  socketCount(): number;
  connectionsOpened(): number;
  pingsReceived(): number;
  close(): Promise<void>;
}

/** The error a method handler throws to answer {"ok":false,"error":code,...extra}. */
export class SlackApiError extends Error {
  readonly code: string;
  readonly extra: Record<string, unknown>;
  constructor(code: string, extra: Record<string, unknown> = {}) {
    super(code);
    this.code = code;
    this.extra = extra;
  }
}

export function slackError(code: string, extra?: Record<string, unknown>): SlackApiError {
  return new SlackApiError(code, extra);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function slackId(prefix: string, length = 10): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (const b of bytes) s += ALNUM[b % ALNUM.length];
  return s;
}

const chars = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

function channelType(channel: string): 'channel' | 'group' | 'im' | 'mpim' {
  if (channel.startsWith('D')) return 'im';
  if (channel.startsWith('G')) return 'group';
  return 'channel';
}

const FILETYPES: Record<string, [string, string]> = {
  'image/png': ['png', 'PNG'],
  'image/jpeg': ['jpg', 'JPEG'],
  'image/gif': ['gif', 'GIF'],
  'image/webp': ['webp', 'WebP'],
  'application/pdf': ['pdf', 'PDF'],
  'text/plain': ['text', 'Plain Text'],
  'text/markdown': ['markdown', 'Markdown (raw)'],
  'application/json': ['json', 'JSON'],
  'audio/mpeg': ['mp3', 'MP3'],
  'audio/ogg': ['ogg', 'Ogg Vorbis'],
};

/** Block Kit checks the fake enforces; returns Slack's error body fields or undefined. */
function validateBlocks(blocks: unknown): { error: string; errors: string[] } | undefined {
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format', errors: ['must provide an array [json-pointer:/blocks]'] };
  if (blocks.length > MAX_BLOCKS) return { error: 'invalid_blocks', errors: [`no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`] };
  const errors: string[] = [];
  blocks.forEach((block: unknown, i) => {
    const at = `/blocks/${i}`;
    if (!block || typeof block !== 'object' || typeof (block as { type?: unknown }).type !== 'string') {
      errors.push(`missing required field: type [json-pointer:${at}]`);
      return;
    }
    const b = block as { type: string; text?: unknown; fields?: unknown; elements?: unknown };
    const textOf = (t: unknown): string | undefined =>
      t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string' ? (t as { text: string }).text : undefined;
    if (b.type === 'section') {
      const text = textOf(b.text);
      if (b.text === undefined && b.fields === undefined) errors.push(`must provide text or fields [json-pointer:${at}]`);
      if (text !== undefined && chars(text) > SECTION_TEXT_LIMIT) {
        errors.push(`failed to match all allowed schemas [json-pointer:${at}/text]`);
        errors.push(`must be less than ${SECTION_TEXT_LIMIT + 1} characters [json-pointer:${at}/text/text]`);
      }
      if (Array.isArray(b.fields)) {
        if (b.fields.length > 10) errors.push(`no more than 10 items allowed [json-pointer:${at}/fields]`);
        b.fields.forEach((f: unknown, j) => {
          const ft = textOf(f);
          if (ft !== undefined && chars(ft) > SECTION_FIELD_LIMIT) errors.push(`must be less than ${SECTION_FIELD_LIMIT + 1} characters [json-pointer:${at}/fields/${j}/text]`);
        });
      }
    } else if (b.type === 'header') {
      const text = textOf(b.text);
      if (text !== undefined && chars(text) > HEADER_TEXT_LIMIT) errors.push(`must be less than ${HEADER_TEXT_LIMIT + 1} characters [json-pointer:${at}/text/text]`);
    } else if (b.type === 'markdown') {
      const text = typeof b.text === 'string' ? b.text : undefined;
      if (text !== undefined && chars(text) > MARKDOWN_BLOCK_LIMIT) errors.push(`must be less than ${MARKDOWN_BLOCK_LIMIT + 1} characters [json-pointer:${at}/text]`);
    } else if (b.type === 'context') {
      if (Array.isArray(b.elements) && b.elements.length > 10) errors.push(`no more than 10 items allowed [json-pointer:${at}/elements]`);
    }
  });
  return errors.length > 0 ? { error: 'invalid_blocks', errors } : undefined;
}

/** X-Slack-Signature for a raw body: `v0=` + hex HMAC-SHA256(secret, `v0:{ts}:{body}`). */
export function slackSignature(signingSecret: string, timestamp: number | string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignedRequestOptions {
  /** Unix seconds for X-Slack-Request-Timestamp (default now; use an old one to test staleness). */
  timestamp?: number;
  /** Adds X-Slack-Retry-Num (and X-Slack-Retry-Reason, default 'http_timeout'). */
  retryNum?: number;
  retryReason?: string;
  /** Signs with the wrong secret. */
  badSignature?: boolean;
  /** Default application/json (slash commands and interactivity use application/x-www-form-urlencoded). */
  contentType?: string;
  signal?: AbortSignal;
}

/** POSTs `body` (an object is sent as JSON) to our Events API endpoint the way Slack does. */
export async function signedRequest(targetUrl: string, signingSecret: string, body: object | string, opts: SignedRequestOptions = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const secret = opts.badSignature ? `${signingSecret}-wrong` : signingSecret;
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/json',
    'user-agent': SLACKBOT_UA,
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': slackSignature(secret, ts, raw),
  };
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = opts.retryReason ?? 'http_timeout';
  }
  return fetch(targetUrl, { method: 'POST', headers, body: raw, signal: opts.signal ?? AbortSignal.timeout(10_000) });
}

/** Slack's Request URL check: a signed {token, challenge, type:'url_verification'}; the app must echo the challenge. */
export function urlVerification(targetUrl: string, signingSecret: string, challenge = randomBytes(24).toString('base64url'), opts: SignedRequestOptions = {}): Promise<Response> {
  return signedRequest(targetUrl, signingSecret, { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge, type: 'url_verification' }, opts);
}

// ---------------------------------------------------------------------------------------------
// The fake

interface Connection {
  id: number;
  ws: WebSocket;
  timers: Set<NodeJS.Timeout>;
}

interface Pending {
  type: string;
  payload: Record<string, unknown>;
  eventId?: string;
  attempt: number;
  envelopeId: string;
  acceptsResponsePayload: boolean;
  redeliver: boolean;
}

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const options: FakeSlackOptions = {
    botToken: 'xoxb-1111111111-2222222222222-FakeBotToken0000000000',
    appToken: 'xapp-1-A0FAKEAPP01-3333333333333-fakeapptoken0000000000000000000000000000000000000000000000000000',
    teamId: 'T0FAKETEAM1',
    teamName: 'Fake Team',
    teamDomain: 'fake-team',
    appId: 'A0FAKEAPP01',
    botUserId: 'U0FAKEBOT01',
    botId: 'B0FAKEBOT01',
    botName: 'clawdbot',
    verificationToken: 'fakeVerificationToken0001',
    scopes: ['app_mentions:read', 'chat:write', 'channels:history', 'im:history', 'reactions:write', 'users:read', 'files:read'],
    ackTimeoutMs: 3000,
    maxRetries: 3,
    pingIntervalMs: 0,
    answerPings: true,
    disconnectGraceMs: 1000,
    echoBotMessages: false,
    fileAuthFailure: 'redirect',
    ...opts,
  };
  const o = options as Required<Omit<FakeSlackOptions, 'port' | 'channels' | 'users'>> & FakeSlackOptions;

  const requests: RecordedSlackRequest[] = [];
  const posted: PostedMessage[] = [];
  const reactions: ReactionRecord[] = [];
  const acks: AckRecord[] = [];
  const deliveries: DeliveryRecord[] = [];
  const downloads: { fileId: string; authorized: boolean; status: number }[] = [];
  const socketMessages: unknown[] = [];
  const messages = new Map<string, StoredMessage>();
  const files = new Map<string, { meta: SlackFile; bytes: Buffer }>();
  const failures = new Map<string, { spec: FailureSpec; left: number }[]>();
  const custom = new Map<string, MethodHandler>();
  const hanging = new Set<http.ServerResponse>();
  const tickets = new Set<string>();
  const connections = new Set<Connection>();
  const upgrading = new Set<Duplex>();
  const unacked = new Map<string, { pending: Pending; timer?: NodeJS.Timeout }>();
  const queue: Pending[] = [];
  const ackWaiters = new Map<string, ((a: AckRecord) => void)[]>();
  const envelopeEvent = new Map<string, string | undefined>();
  const globalTimers = new Set<NodeJS.Timeout>();
  let connSeq = 0;
  let pings = 0;
  let roundRobin = 0;
  let lastMicros = 0;
  let closing = false;
  let baseUrl = '';

  const key = (channel: string, ts: string): string => `${channel}/${ts}`;

  /** Message timestamps: "seconds.micros", strictly increasing, like Slack's per-channel ts. */
  const nextTs = (): string => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 100);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  };

  const channelExists = (channel: string): boolean =>
    o.channels ? o.channels.includes(channel) : /^[CGD][A-Z0-9]{2,}$/.test(channel);

  const later = (ms: number, fn: () => void, set: Set<NodeJS.Timeout> = globalTimers): void => {
    const t = setTimeout(() => {
      set.delete(t);
      if (!closing) fn();
    }, ms);
    set.add(t);
  };

  // ----- Web API ------------------------------------------------------------------------------

  const botProfile = () => ({
    id: o.botId,
    app_id: o.appId,
    name: o.botName,
    icons: { image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png' },
    deleted: false,
    updated: 1700000000,
    team_id: o.teamId,
  });

  const messageJson = (m: StoredMessage): Record<string, unknown> => {
    const out: Record<string, unknown> = { user: m.user, type: 'message', ts: m.ts };
    if (m.bot_id) {
      out.bot_id = m.bot_id;
      out.app_id = o.appId;
    }
    out.text = m.text ?? '';
    out.team = o.teamId;
    if (m.bot_id) out.bot_profile = botProfile();
    if (m.blocks !== undefined) out.blocks = m.blocks;
    if (m.thread_ts) {
      out.thread_ts = m.thread_ts;
      const parent = messages.get(key(m.channel, m.thread_ts));
      if (parent) out.parent_user_id = parent.user;
    }
    return out;
  };

  const requireChannel = (params: Record<string, unknown>): string => {
    const channel = str(params.channel);
    if (!channel || !channelExists(channel)) throw slackError('channel_not_found');
    return channel;
  };

  /** The text/blocks checks chat.postMessage and chat.update share. */
  const content = (params: Record<string, unknown>): { text?: string; blocks?: unknown } => {
    const text = str(params.text);
    const blocks = params.blocks;
    const attachments = params.attachments;
    // A JSON-typed form field that did not parse stays the string that was sent.
    if (typeof attachments === 'string') throw slackError('invalid_attachments');
    if ((text === undefined || text === '') && blocks === undefined && attachments === undefined) throw slackError('no_text');
    if (text !== undefined && chars(text) > SLACK_TEXT_LIMIT) throw slackError('msg_too_long');
    if (blocks !== undefined) {
      const bad = validateBlocks(blocks);
      if (bad) throw slackError(bad.error, { errors: bad.errors, response_metadata: { messages: bad.errors.map((e) => `[ERROR] ${e}`) } });
    }
    return { text, blocks };
  };

  const userJson = (id: string): Record<string, unknown> => {
    const extra = o.users?.[id] ?? {};
    const isBot = id === o.botUserId || extra.is_bot === true;
    const name = extra.name ?? (id === o.botUserId ? o.botName : `user_${id.toLowerCase()}`);
    const realName = extra.real_name ?? (id === o.botUserId ? o.botName : `User ${id}`);
    const profile: Record<string, unknown> = {
      real_name: realName,
      display_name: name,
      real_name_normalized: realName,
      display_name_normalized: name,
      image_48: `https://avatars.slack-edge.com/fake/${id}_48.png`,
      team: o.teamId,
    };
    if (extra.email) profile.email = extra.email;
    if (isBot && id === o.botUserId) {
      profile.bot_id = o.botId;
      profile.api_app_id = o.appId;
    }
    return {
      id,
      team_id: o.teamId,
      name,
      deleted: extra.deleted ?? false,
      color: '9f69e7',
      real_name: realName,
      tz: extra.tz ?? 'Europe/London',
      tz_label: 'Greenwich Mean Time',
      tz_offset: 0,
      profile,
      is_admin: false,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: isBot,
      is_app_user: false,
      updated: 1700000000,
    };
  };

  const channelJson = (id: string): Record<string, unknown> => {
    const kind = channelType(id);
    if (kind === 'im') {
      return { id, created: 1700000000, is_im: true, is_org_shared: false, user: 'U0FAKEUSER1', last_read: '0000000000.000000', is_open: true, priority: 0 };
    }
    const name = `channel-${id.toLowerCase()}`;
    return {
      id,
      name,
      is_channel: kind === 'channel',
      is_group: kind === 'group',
      is_im: false,
      is_mpim: false,
      is_private: kind === 'group',
      created: 1700000000,
      is_archived: false,
      is_general: false,
      unlinked: 0,
      name_normalized: name,
      is_shared: false,
      is_org_shared: false,
      is_ext_shared: false,
      is_pending_ext_shared: false,
      pending_shared: [],
      context_team_id: o.teamId,
      parent_conversation: null,
      is_member: true,
      creator: 'U0FAKEUSER1',
      last_read: '0000000000.000000',
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      previous_names: [],
    };
  };

  const findMessage = (channel: string, ts: string | undefined): StoredMessage => {
    const m = ts ? messages.get(key(channel, ts)) : undefined;
    if (!m || m.deleted) throw slackError('message_not_found');
    return m;
  };

  const reactionTarget = (params: Record<string, unknown>): { name: string; channel: string; ts: string; m: StoredMessage } => {
    const name = str(params.name);
    const channel = str(params.channel);
    const ts = str(params.timestamp);
    if (!channel || !ts) throw slackError('no_item_specified');
    if (!name || /[\s:]/.test(name.replace(/^:|:$/g, ''))) throw slackError('invalid_name');
    if (!/^\d+\.\d+$/.test(ts)) throw slackError('bad_timestamp');
    if (!channelExists(channel)) throw slackError('channel_not_found');
    return { name: name.replace(/^:|:$/g, ''), channel, ts, m: findMessage(channel, ts) };
  };

  type Builtin = { token: 'bot' | 'app'; fn: MethodHandler };
  const builtins: Record<string, Builtin> = {
    'auth.test': {
      token: 'bot',
      fn: () => ({
        url: `https://${o.teamDomain}.slack.com/`,
        team: o.teamName,
        user: o.botName,
        team_id: o.teamId,
        user_id: o.botUserId,
        bot_id: o.botId,
        is_enterprise_install: false,
      }),
    },
    'chat.postMessage': {
      token: 'bot',
      fn: (params) => {
        // A user ID as the channel posts into the app's DM with that user (answered with the D… ID).
        const to = str(params.channel);
        const channel = requireChannel(to && /^[UW][A-Z0-9]{2,}$/.test(to) ? { channel: `D${to.slice(1)}` } : params);
        const { text, blocks } = content(params);
        const thread_ts = str(params.thread_ts) || undefined;
        const ts = nextTs();
        const m: StoredMessage = { channel, ts, text, blocks, user: o.botUserId, bot_id: o.botId, thread_ts, reactions: new Map() };
        messages.set(key(channel, ts), m);
        posted.push({ method: 'chat.postMessage', channel, ts, text, blocks, thread_ts });
        if (o.echoBotMessages) {
          const event: Record<string, unknown> = { ...messageJson(m), channel, event_ts: ts, channel_type: channelType(channel) };
          queueMicrotask(() => pushEvent(event));
        }
        return { channel, ts, message: messageJson(m) };
      },
    },
    'chat.update': {
      token: 'bot',
      fn: (params) => {
        const channel = requireChannel(params);
        const ts = str(params.ts);
        const m = findMessage(channel, ts);
        if (m.user !== o.botUserId) throw slackError('cant_update_message');
        const { text, blocks } = content(params);
        m.text = text;
        if (blocks !== undefined) m.blocks = blocks;
        posted.push({ method: 'chat.update', channel, ts: m.ts, text, blocks, thread_ts: m.thread_ts });
        return { channel, ts: m.ts, text: text ?? '', message: { ...messageJson(m), edited: { user: o.botUserId, ts: nextTs() } } };
      },
    },
    'chat.delete': {
      token: 'bot',
      fn: (params) => {
        const channel = requireChannel(params);
        const m = findMessage(channel, str(params.ts));
        if (m.user !== o.botUserId) throw slackError('cant_delete_message');
        m.deleted = true;
        return { channel, ts: m.ts };
      },
    },
    'reactions.add': {
      token: 'bot',
      fn: (params) => {
        const { name, channel, ts, m } = reactionTarget(params);
        const who = m.reactions.get(name) ?? new Set<string>();
        if (who.has(o.botUserId)) throw slackError('already_reacted');
        who.add(o.botUserId);
        m.reactions.set(name, who);
        reactions.push({ name, channel, timestamp: ts });
        return {};
      },
    },
    'reactions.remove': {
      token: 'bot',
      fn: (params) => {
        const { name, channel, ts, m } = reactionTarget(params);
        const who = m.reactions.get(name);
        if (!who?.has(o.botUserId)) throw slackError('no_reaction');
        who.delete(o.botUserId);
        if (who.size === 0) m.reactions.delete(name);
        reactions.push({ name, channel, timestamp: ts, removed: true });
        return {};
      },
    },
    'users.info': {
      token: 'bot',
      fn: (params) => {
        const user = str(params.user);
        if (!user || !(/^[UW][A-Z0-9]{2,}$/.test(user) || o.users?.[user])) throw slackError('user_not_found');
        return { user: userJson(user) };
      },
    },
    'conversations.info': {
      token: 'bot',
      fn: (params) => ({ channel: channelJson(requireChannel(params)) }),
    },
    'files.info': {
      token: 'bot',
      fn: (params) => {
        const f = files.get(str(params.file) ?? '');
        if (!f) throw slackError('file_not_found');
        return { file: f.meta, comments: [], response_metadata: { next_cursor: '' } };
      },
    },
    'apps.connections.open': {
      token: 'app',
      fn: () => {
        const ticket = randomUUID();
        tickets.add(ticket);
        return { url: `${baseUrl.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${o.appId}` };
      },
    },
  };

  const writeJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const takeFailure = (method: string): FailureSpec | undefined => {
    for (const k of [method, '*']) {
      const list = failures.get(k);
      const first = list?.[0];
      if (!list || !first) continue;
      first.left -= 1;
      if (first.left <= 0) list.shift();
      return first.spec;
    }
    return undefined;
  };

  const parseBody = async (
    req: http.IncomingMessage,
    raw: Buffer,
  ): Promise<{ fields: Record<string, unknown>; bodyToken?: string; warnings: string[]; error?: string; contentType?: string }> => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fields: Record<string, unknown> = Object.fromEntries(u.searchParams);
    const warnings: string[] = [];
    const ct = req.headers['content-type'];
    const type = (ct ?? '').split(';')[0]!.trim().toLowerCase();
    let bodyToken: string | undefined = str(fields.token);
    if (req.method !== 'POST' || raw.length === 0) return { fields, bodyToken, warnings, contentType: ct };
    if (!ct) return { fields, warnings, error: 'missing_post_type' };
    if (type === 'application/x-www-form-urlencoded' || type === 'text/plain') {
      for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) fields[k] = v;
      bodyToken = str(fields.token);
    } else if (type === 'multipart/form-data') {
      try {
        const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': ct } }).formData();
        for (const [k, v] of form) fields[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer());
      } catch {
        return { fields, warnings, error: 'invalid_form_data', contentType: ct };
      }
      bodyToken = str(fields.token);
    } else if (type === 'application/json') {
      // A JSON body's token must come in the Authorization header; a `token` inside it is ignored.
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        return { fields, warnings, error: 'invalid_json', contentType: ct };
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { fields, warnings, error: 'invalid_json', contentType: ct };
      Object.assign(fields, parsed);
      if (!/charset=/i.test(ct)) warnings.push('missing_charset');
      bodyToken = str(Object.fromEntries(u.searchParams).token);
      return { fields, bodyToken, warnings, contentType: ct };
    } else {
      return { fields, warnings, error: 'invalid_post_type', contentType: ct };
    }
    // Form-encoded JSON arguments arrive as strings: decode them.
    for (const k of Object.keys(fields)) {
      const v = fields[k];
      if (JSON_FIELDS.has(k) && typeof v === 'string') {
        try {
          fields[k] = JSON.parse(v);
        } catch {
          // left as the string sent: the method answers invalid_blocks_format / invalid_attachments
        }
      }
    }
    return { fields, bodyToken, warnings, contentType: ct };
  };

  const webApi = async (req: http.IncomingMessage, res: http.ServerResponse, method: string, raw: Buffer): Promise<void> => {
    const parsed = await parseBody(req, raw);
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const token = auth || parsed.bodyToken || undefined;
    const params = { ...parsed.fields };
    delete params.token;
    const record: RecordedSlackRequest = { method, params, token, httpMethod: req.method ?? 'POST', contentType: parsed.contentType, status: 0 };
    requests.push(record);

    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      record.status = status;
      record.response = body;
      writeJson(res, status, body, headers);
    };

    const failure = takeFailure(method);
    if (failure) {
      if (failure.hang) {
        record.status = -1;
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const status = failure.status ?? (failure.retryAfter !== undefined ? 429 : 200);
      if (status === 429) {
        answer(429, { ok: false, error: failure.error ?? 'ratelimited' }, { 'retry-after': String(failure.retryAfter ?? 1) });
      } else if (status >= 500 && !failure.error) {
        record.status = status;
        const html = `<html><head><title>${status}</title></head><body><h1>${status}</h1></body></html>`;
        res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
        res.end(html);
      } else {
        answer(status, { ok: false, error: failure.error ?? 'internal_error' });
      }
      return;
    }

    if (parsed.error) return answer(200, { ok: false, error: parsed.error });
    const own = custom.get(method);
    const builtin = builtins[method];
    if (!own && !builtin) return answer(200, { ok: false, error: 'unknown_method', req_method: method });

    const required = builtin?.token ?? 'bot';
    if (!token) return answer(200, { ok: false, error: 'not_authed' });
    const kind = token === o.botToken ? 'bot' : token === o.appToken ? 'app' : undefined;
    if (!kind) return answer(200, { ok: false, error: 'invalid_auth' });
    if (kind !== required) return answer(200, { ok: false, error: 'not_allowed_token_type' });
    const headers: Record<string, string> = kind === 'bot' ? { 'x-oauth-scopes': o.scopes.join(',') } : {};

    try {
      const body = await (own ?? builtin!.fn)(params, { token, fake });
      const out: Record<string, unknown> = { ok: true, ...body };
      if (parsed.warnings.length) {
        out.warning = parsed.warnings.join(',');
        out.response_metadata = { ...((out.response_metadata as object) ?? {}), warnings: parsed.warnings };
      }
      answer(200, out, headers);
    } catch (err) {
      if (err instanceof SlackApiError) answer(200, { ok: false, error: err.code, ...err.extra }, headers);
      else throw err;
    }
  };

  // ----- Files --------------------------------------------------------------------------------

  const loginPage = (res: http.ServerResponse): void => {
    const html = `<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head><body><h1>Sign in to ${o.teamName}</h1><form action="/signin" method="post"></form></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
    res.end(html);
  };

  const download = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    const m = /^\/files-pri\/([A-Z0-9]+)-([A-Z0-9]+)\/(?:download\/)?[^/]+$/.exec(path);
    const fileId = m?.[2] ?? '';
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const authorized = auth === o.botToken;
    if (!authorized) {
      if (o.fileAuthFailure === 'forbidden') {
        downloads.push({ fileId, authorized, status: 403 });
        res.writeHead(403, { 'content-type': 'text/html', 'content-length': 0 });
        res.end();
        return;
      }
      downloads.push({ fileId, authorized, status: 302 });
      res.writeHead(302, { location: `${baseUrl}/?redir=${encodeURIComponent(path)}`, 'content-length': 0 });
      res.end();
      return;
    }
    const f = files.get(fileId);
    if (!f || !m) {
      downloads.push({ fileId, authorized, status: 404 });
      res.writeHead(404, { 'content-type': 'text/html', 'content-length': 0 });
      res.end();
      return;
    }
    downloads.push({ fileId, authorized, status: 200 });
    res.writeHead(200, {
      'content-type': f.meta.mimetype,
      'content-length': f.bytes.length,
      'content-disposition': `${path.includes('/download/') ? 'attachment' : 'inline'}; filename="${f.meta.name}"`,
    });
    res.end(req.method === 'HEAD' ? undefined : f.bytes);
  };

  // ----- HTTP server --------------------------------------------------------------------------

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      Promise.resolve()
        .then(async () => {
          const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(path);
          if (api && (req.method === 'POST' || req.method === 'GET')) return webApi(req, res, api[1]!, raw);
          if (path.startsWith('/files-pri/') && (req.method === 'GET' || req.method === 'HEAD')) return download(req, res, path);
          if (path === '/' || path === '/signin') return loginPage(res);
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('404 Not Found');
        })
        .catch((err: unknown) => {
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`fake slack error: ${err instanceof Error ? err.message : String(err)}`);
          } else res.destroy();
        });
    });
  });

  // ----- Socket Mode --------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, autoPong: false });

  const sendJson = (c: Connection, value: unknown): void => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(value));
  };

  const openConnections = (): Connection[] => [...connections].filter((c) => c.ws.readyState === c.ws.OPEN);

  const deliver = (p: Pending): void => {
    if (closing) return;
    const open = openConnections();
    if (open.length === 0) {
      queue.push(p);
      return;
    }
    const c = open[roundRobin++ % open.length]!;
    const envelope: Record<string, unknown> = { envelope_id: p.envelopeId, payload: p.payload, type: p.type, accepts_response_payload: p.acceptsResponsePayload };
    if (p.type === 'events_api') {
      envelope.retry_attempt = p.attempt;
      envelope.retry_reason = p.attempt > 0 ? 'timeout' : '';
    }
    envelopeEvent.set(p.envelopeId, p.eventId);
    deliveries.push({ envelope_id: p.envelopeId, type: p.type, payload: p.payload, event_id: p.eventId, retry_attempt: p.attempt, retry_reason: p.attempt > 0 ? 'timeout' : '', connection: c.id });
    sendJson(c, envelope);
    const entry: { pending: Pending; timer?: NodeJS.Timeout } = { pending: p };
    unacked.set(p.envelopeId, entry);
    if (p.redeliver && o.ackTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        globalTimers.delete(entry.timer!);
        if (closing || !unacked.has(p.envelopeId)) return;
        unacked.delete(p.envelopeId);
        if (p.attempt < o.maxRetries) deliver({ ...p, attempt: p.attempt + 1, envelopeId: randomUUID() });
      }, o.ackTimeoutMs);
      globalTimers.add(entry.timer);
    }
  };

  const onSocket = (ws: WebSocket): void => {
    const c: Connection = { id: ++connSeq, ws, timers: new Set() };
    connections.add(c);
    ws.on('error', () => {});
    ws.on('ping', (data: Buffer) => {
      pings++;
      if (o.answerPings !== false && ws.readyState === ws.OPEN) ws.pong(data);
    });
    ws.on('message', (data, isBinary) => {
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8');
      if (isBinary) {
        socketMessages.push(text);
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        socketMessages.push(text);
        return;
      }
      const envelopeId = msg && typeof msg === 'object' ? (msg as { envelope_id?: unknown }).envelope_id : undefined;
      if (typeof envelopeId !== 'string') {
        socketMessages.push(msg);
        return;
      }
      const rec: AckRecord = { envelope_id: envelopeId, at: Date.now() };
      if ('payload' in (msg as object)) rec.payload = (msg as { payload?: unknown }).payload;
      const eventId = envelopeEvent.get(envelopeId);
      if (eventId) rec.event_id = eventId;
      acks.push(rec);
      const entry = unacked.get(envelopeId);
      if (entry) {
        if (entry.timer) {
          clearTimeout(entry.timer);
          globalTimers.delete(entry.timer);
        }
        unacked.delete(envelopeId);
      }
      for (const w of ackWaiters.get(envelopeId) ?? []) w(rec);
      ackWaiters.delete(envelopeId);
    });
    ws.on('close', () => {
      connections.delete(c);
      for (const t of c.timers) clearTimeout(t);
      c.timers.clear();
    });
    sendJson(c, {
      type: 'hello',
      num_connections: openConnections().length,
      debug_info: { host: `applink-fake-${c.id}`, build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: o.appId },
    });
    if (o.pingIntervalMs > 0) {
      const t = setInterval(() => {
        if (ws.readyState === ws.OPEN) ws.ping(Buffer.from(`ping-${Date.now()}`));
      }, o.pingIntervalMs);
      c.timers.add(t);
    }
    for (const p of queue.splice(0)) deliver(p);
  };

  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    upgrading.add(socket);
    socket.on('close', () => upgrading.delete(socket));
    socket.on('error', () => {});
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reject = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (closing) return reject('503 Service Unavailable');
    if (u.pathname !== '/link/' && u.pathname !== '/link') return reject('404 Not Found');
    const ticket = u.searchParams.get('ticket');
    if (!ticket || !tickets.has(ticket)) return reject('401 Unauthorized');
    tickets.delete(ticket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgrading.delete(socket);
      onSocket(ws);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ----- Events -------------------------------------------------------------------------------

  const eventCallback = (event: object, eopts: { eventId?: string } = {}): Record<string, unknown> => {
    const ev = event as { type?: string; channel?: string; event_ts?: string; ts?: string };
    const eventTs = Number(ev.event_ts ?? ev.ts ?? Date.now() / 1000);
    const context = Buffer.from(JSON.stringify({ et: ev.type, tid: o.teamId, aid: o.appId, cid: ev.channel })).toString('base64url');
    return {
      token: o.verificationToken,
      team_id: o.teamId,
      context_team_id: o.teamId,
      context_enterprise_id: null,
      api_app_id: o.appId,
      event,
      type: 'event_callback',
      event_id: eopts.eventId ?? slackId('Ev', 10),
      event_time: Math.floor(eventTs),
      authorizations: [{ enterprise_id: null, team_id: o.teamId, user_id: o.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${context}`,
    };
  };

  const richText = (parts: ({ type: 'user'; user_id: string } | { type: 'text'; text: string })[]) => [
    { type: 'rich_text', block_id: slackId('', 4).toLowerCase(), elements: [{ type: 'rich_text_section', elements: parts }] },
  ];

  const userMessage = (type: 'app_mention' | 'message', m: MessageOpts, text: string, blocks: unknown): Record<string, unknown> => {
    const ts = m.ts ?? nextTs();
    const event: Record<string, unknown> = { client_msg_id: randomUUID(), type, text, user: m.user, ts, team: o.teamId, blocks };
    if (m.files?.length) {
      event.files = m.files;
      event.upload = false;
      event.display_as_bot = false;
      if (type === 'message') event.subtype = 'file_share';
    }
    event.channel = m.channel;
    event.event_ts = ts;
    if (m.thread_ts) {
      event.thread_ts = m.thread_ts;
      const parent = messages.get(key(m.channel, m.thread_ts));
      event.parent_user_id = parent?.user ?? m.user;
    }
    if (type === 'message') event.channel_type = channelType(m.channel);
    messages.set(key(m.channel, ts), { channel: m.channel, ts, text, user: m.user, thread_ts: m.thread_ts, reactions: new Map() });
    return event;
  };

  const mention = (m: MessageOpts): Record<string, unknown> => {
    const tag = `<@${o.botUserId}>`;
    const text = m.text.includes(tag) ? m.text : `${tag} ${m.text}`;
    const rest = text.replace(tag, '').replace(/^\s+/, '');
    const parts: Parameters<typeof richText>[0] = [{ type: 'user', user_id: o.botUserId }];
    if (rest) parts.push({ type: 'text', text: ` ${rest}` });
    return userMessage('app_mention', m, text, richText(parts));
  };

  const directMessage = (m: MessageOpts): Record<string, unknown> =>
    userMessage('message', m, m.text, m.text ? richText([{ type: 'text', text: m.text }]) : []);

  const pushEnvelope = (type: string, payload: object, popts: { acceptsResponsePayload?: boolean; eventId?: string } = {}): string => {
    const p: Pending = {
      type,
      payload: payload as Record<string, unknown>,
      eventId: popts.eventId,
      attempt: 0,
      envelopeId: randomUUID(),
      acceptsResponsePayload: popts.acceptsResponsePayload ?? type !== 'events_api',
      redeliver: type === 'events_api',
    };
    deliver(p);
    return p.envelopeId;
  };

  const pushEvent = (event: object, popts: { eventId?: string } = {}): string => {
    const payload = eventCallback(event, popts);
    return pushEnvelope('events_api', payload, { acceptsResponsePayload: false, eventId: payload.event_id as string });
  };

  const closeConn = (c: Connection, code: number): void => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.close(code);
    // A peer that never answers the close frame is cut off.
    const t = setTimeout(() => c.ws.terminate(), 2000);
    c.timers.add(t);
  };

  let closed: Promise<void> | undefined;
  const fake: FakeSlack = {
    url: baseUrl,
    botToken: o.botToken,
    appToken: o.appToken,
    botUserId: o.botUserId,
    botId: o.botId,
    teamId: o.teamId,
    appId: o.appId,
    options,
    requests,
    posted,
    reactions,
    acks,
    deliveries,
    downloads,
    socketMessages,

    addFile(bytes, fopts = {}) {
      const id = slackId('F', 10);
      const name = fopts.name ?? 'file.bin';
      const mimetype = fopts.mimetype ?? 'application/octet-stream';
      const [filetype, pretty] = FILETYPES[mimetype] ?? [name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : 'binary', 'Binary'];
      const now = Math.floor(Date.now() / 1000);
      const safe = encodeURIComponent(name);
      const meta: SlackFile = {
        id,
        created: now,
        timestamp: now,
        name,
        title: fopts.title ?? name,
        mimetype,
        filetype,
        pretty_type: pretty,
        user: fopts.user ?? 'U0FAKEUSER1',
        user_team: o.teamId,
        editable: false,
        size: bytes.length,
        mode: 'hosted',
        is_external: false,
        external_type: '',
        is_public: false,
        public_url_shared: false,
        display_as_bot: false,
        username: '',
        url_private: `${baseUrl}/files-pri/${o.teamId}-${id}/${safe}`,
        url_private_download: `${baseUrl}/files-pri/${o.teamId}-${id}/download/${safe}`,
        permalink: `https://${o.teamDomain}.slack.com/files/${fopts.user ?? 'U0FAKEUSER1'}/${id}/${safe}`,
        is_starred: false,
        has_rich_preview: false,
        file_access: 'visible',
      };
      files.set(id, { meta, bytes: Buffer.from(bytes) });
      return meta;
    },
    message: (channel, ts) => messages.get(key(channel, ts)),
    mention,
    directMessage,
    eventCallback,
    pushEvent,
    pushEnvelope: (type, payload, popts) => pushEnvelope(type, payload, popts),
    waitForAck(envelopeId, timeoutMs = 2000) {
      const done = acks.find((a) => a.envelope_id === envelopeId);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ack for envelope ${envelopeId} within ${timeoutMs} ms`)), timeoutMs);
        const list = ackWaiters.get(envelopeId) ?? [];
        list.push((a) => {
          clearTimeout(t);
          resolve(a);
        });
        ackWaiters.set(envelopeId, list);
      });
    },
    failNext(method, res, times = 1) {
      const list = failures.get(method) ?? [];
      list.push({ spec: res, left: times });
      failures.set(method, list);
    },
    handle(method, fn) {
      custom.set(method, fn);
    },
    disconnectAll(reason = 'refresh_requested') {
      for (const c of openConnections()) {
        sendJson(c, { type: 'disconnect', reason, debug_info: { host: `applink-fake-${c.id}` } });
        if (reason !== 'warning') {
          const t = setTimeout(() => closeConn(c, 1001), o.disconnectGraceMs);
          c.timers.add(t);
        }
      }
    },
    dropAll() {
      for (const c of connections) c.ws.terminate();
    },
    socketCount: () => openConnections().length,
    connectionsOpened: () => connSeq,
    pingsReceived: () => pings,
    close() {
      closed ??= (async () => {
        closing = true;
        for (const t of globalTimers) clearTimeout(t);
        globalTimers.clear();
        for (const { timer } of unacked.values()) if (timer) clearTimeout(timer);
        unacked.clear();
        queue.length = 0;
        // Close sockets with a close handshake (a client that is itself closing, e.g. right after
        // Bolt's app.stop(), otherwise keeps a 30 s close-handshake timer alive); cut off the rest.
        await Promise.all(
          [...connections].map(
            (c) =>
              new Promise<void>((resolve) => {
                for (const t of c.timers) clearTimeout(t);
                c.timers.clear();
                if (c.ws.readyState === c.ws.CLOSED) return resolve();
                const cut = setTimeout(() => c.ws.terminate(), 300);
                c.ws.once('close', () => {
                  clearTimeout(cut);
                  resolve();
                });
                if (c.ws.readyState === c.ws.OPEN) c.ws.close(1001);
              }),
          ),
        );
        connections.clear();
        for (const s of upgrading) s.destroy();
        for (const res of hanging) res.destroy();
        hanging.clear();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
  return fake;
}
