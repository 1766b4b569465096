// A protocol-faithful fake Telegram Bot API server for tests: one real node:http server on
// 127.0.0.1 (port 0) that speaks the Bot API wire format, driven in tests by the real grammy
// (`new Bot(token, { client: { apiRoot: fake.apiRoot } })`). Behaviour follows core.telegram.org/bots/api
// and the sources of the official server (tdlib/telegram-bot-api: Client.cpp, ClientManager.cpp,
// HttpConnection.cpp, Query.cpp, WebhookActor.cpp) and of TDLib's entity parsers
// (td/telegram/MessageEntity.cpp: parse_html, parse_markdown_v2, parse_markdown, match_mentions,
// match_bot_commands), ported byte for byte so error texts carry the same byte offsets.
//
// Exported API
//   startFakeTelegram(opts?: FakeTelegramOptions): Promise<FakeTelegram>
//     apiRoot                  http://127.0.0.1:PORT (no trailing slash: grammy's client.apiRoot)
//     token                    the one valid token (default '123456789:AAH...'; the bot id is the part before ':')
//     bot                      { id, username, first_name }
//     options                  the live options (mutable; read per request / per delivery)
//     requests                 every /bot<token>/<method> call: { method, params, at, httpMethod, token, status, response, via }
//                              params: query + body merged; JSON-typed form fields (entities, reply_parameters,
//                              allowed_updates, ...) decoded; multipart file parts as { filename, contentType, size }
//     sent                     Messages the bot sent or edited (sendMessage/sendPhoto/sendDocument/editMessageText results), in order
//     chatActions              sendChatAction calls that succeeded: { chat_id, action, message_thread_id? }
//     downloads                /file/bot<token>/<path> fetches: { path, status }
//     webhookDeliveries        webhook POSTs: { update_id, attempt, status (0 = network error), error?, at }
//     webhook                  { url, secret_token? } | null. Assigning sets/deletes it as if setWebhook/deleteWebhook ran
//     allowedUpdates           the current allowed_updates setting (the default list when never set)
//     rateLimit                { perChatPerSecond?, perGroupPerMinute?, globalPerSecond? } | undefined: exceeding it on a
//                              sending method answers 429 "Too Many Requests: retry after N" + parameters.retry_after + Retry-After
//     confirmedUpTo            the highest update_id confirmed (forgotten) so far, 0 when none
//     pendingUpdates()         updates queued and not yet confirmed (getUpdates) or delivered (webhook)
//     pushUpdate(update)       queues an update (update_id assigned when missing) and wakes a pending long poll or starts a
//                              webhook delivery; returns the update_id, or 0 when allowed_updates filtered it out (Telegram
//                              never creates such updates)
//     textMessage(o) photoMessage(o) documentMessage(o)   realistic Updates ({ message } or { channel_post }) with a stored
//                              Message: per-chat message_id, date, chat, from, entities for /commands, @mentions, #hashtags, URLs
//     addChat(chat)            makes a chat known (the builders do it too); sending to an unknown chat is "chat not found"
//     message(chatId, id)      the stored Message, if any
//     addFile(bytes, o?)       hosts a file: { file_id, file_unique_id, file_size, file_path }
//     failNext(method, err, times?)   the next `times` calls of `method` ('*' = any) answer err: { error_code, description,
//                              retry_after?, parameters? } with that HTTP status (and Retry-After when retry_after is set)
//     handle(method, fn)       adds/overrides a method: fn(params, ctx) returns the result or throws telegramError(...)
//     down(ms?) / up()         refuse connections (listener closed, sockets destroyed, long polls cut) for ms, or until up()
//     close()                  ends long polls, destroys keep-alive sockets, stops webhook deliveries and timers
//   parseEntities(text, parseMode) -> { text, entities }   (throws EntityParseError with TDLib's message)
//   findAutoEntities(text), utf16Length(text), telegramError(code, description, parameters?), TelegramApiError
//   TEXT_LIMIT (4096), CAPTION_LIMIT (1024), MAX_DOWNLOAD_SIZE (20 MB), DEFAULT_TOKEN
//
// Modelling choices (documented deviations from api.telegram.org, all deliberate):
//   - Webhook URLs may be http:// and any port (like the server's --local mode) but must point at 127.0.0.1 /
//     localhost / [::1]; other hosts get 400 "Bad Request: bad webhook: Failed to resolve host: Name or service not known".
//     Updates are delivered one at a time in update_id order (Telegram uses up to max_connections in parallel).
//   - Redelivery after a non-2xx answer or a network error follows WebhookActor: at once the first time, then
//     2, 4, 8... x options.webhookRetryDelayMs (real: 1 s), or the webhook's own Retry-After.
//   - A client that goes away ends its long poll at once (the real server keeps it until the timeout).
//   - Two rate-limit quirks of the real server are off by default and tunable: a repeated short poll with the same
//     offset within 3 s becoming a 3 s long poll (options.repeatPollSeconds = 3 to enable; it makes grammy's
//     bot.stop() take up to 3 s), and 409 conflicts being answered at most once per 3 s (not modelled).
//   - Auto-detected entities: mention, hashtag, cashtag, bot_command, url (with scheme or www.), email; not bare
//     domains, phone numbers or bank cards. Leading/trailing ASCII whitespace is trimmed like TDLib does.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import type { Message, Update } from 'grammy/types';

export type { Message, Update };

export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;
export const MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024;
export const DEFAULT_TOKEN = '123456789:AAHfakeTelegramTokenForTests_0123456789';
const LONG_POLL_MAX_TIMEOUT = 50;
const JSON_TYPE = 'application/json';

export const UPDATE_TYPES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'business_connection',
  'business_message',
  'edited_business_message',
  'deleted_business_messages',
  'message_reaction',
  'message_reaction_count',
  'inline_query',
  'chosen_inline_result',
  'callback_query',
  'shipping_query',
  'pre_checkout_query',
  'purchased_paid_media',
  'poll',
  'poll_answer',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'chat_boost',
  'removed_chat_boost',
] as const;
/** "Specify an empty list to receive all update types except chat_member, message_reaction, and message_reaction_count (default)." */
export const DEFAULT_ALLOWED_UPDATES: string[] = UPDATE_TYPES.filter((t) => t !== 'chat_member' && t !== 'message_reaction' && t !== 'message_reaction_count');

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

/** Parameters whose form/multipart value is a JSON-serialized object or array. */
const JSON_PARAMS = new Set([
  'allowed_updates',
  'entities',
  'caption_entities',
  'reply_parameters',
  'reply_markup',
  'link_preview_options',
  'commands',
  'scope',
  'media',
]);

// =============================================================================================
// Errors

/** An error answer: {"ok":false,"error_code":code,"description":...,"parameters":...}. */
export class TelegramApiError extends Error {
  readonly error_code: number;
  readonly description: string;
  readonly parameters: Record<string, unknown> | undefined;
  constructor(code: number, description: string, parameters?: Record<string, unknown>) {
    super(description);
    this.error_code = code;
    this.description = description;
    this.parameters = parameters;
  }
}

export function telegramError(code: number, description: string, parameters?: Record<string, unknown>): TelegramApiError {
  return new TelegramApiError(code, description, parameters);
}

const badRequest = (what: string): TelegramApiError => new TelegramApiError(400, `Bad Request: ${what}`);
const tooManyRequests = (retryAfter: number): TelegramApiError =>
  new TelegramApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });

/** What TDLib's parsers reject; the message is TDLib's, the Bot API answers "Bad Request: can't parse entities: <message>". */
export class EntityParseError extends Error {}

// =============================================================================================
// Entities: TDLib's parsers ported byte for byte (offsets in errors are UTF-8 byte offsets,
// entity offsets/lengths are UTF-16 code units)

export interface Entity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  user?: { id: number; is_bot: boolean; first_name: string };
  custom_emoji_id?: string;
}

export interface FormattedText {
  text: string;
  entities: Entity[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** td::is_space: the NUL terminator counts as space, which is what ends most scans at the end of the text. */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0 || c === 0x0b;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
const isHexDigit = (c: number): boolean => isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
const hexValue = (c: number): number => (isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10);
const isFirstCodeUnit = (c: number): boolean => (c & 0xc0) !== 0x80;
/** UTF-16 length contributed by a UTF-8 byte: 1 per character, 2 for 4-byte sequences (surrogate pairs). */
const utf16Step = (c: number): number => (isFirstCodeUnit(c) ? (c >= 0xf0 ? 2 : 1) : 0);
const asciiLower = (bytes: Uint8Array): string => fromUtf8.decode(bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b)));

function appendUtf8(out: number[], code: number): void {
  if (code < 0x80) out.push(code);
  else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
  else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  else out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
}

/** The length Telegram counts: UTF-16 code units. */
export function utf16Length(text: string): number {
  return text.length;
}

interface LinkResult {
  url?: string;
  userId?: number;
}

/** LinkManager::get_checked_link / get_link_user_id, simplified: '' when the link is not acceptable. */
function checkLink(raw: string): LinkResult {
  const link = raw.trim();
  const user = /^tg:(?:\/\/)?user\?id=(\d+)$/i.exec(link);
  if (user) return { userId: Number(user[1]) };
  if (/^(tg|ton):\/\/[a-z0-9_-]+/i.test(link)) return { url: link };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(link) ? link : `http://${link}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return {};
    if (u.hostname === '' || /\s/.test(link)) return {};
    return { url: u.href };
  } catch {
    return {};
  }
}

function linkEntity(offset: number, length: number, raw: string): Entity | undefined {
  const link = checkLink(raw);
  if (link.userId !== undefined) return { type: 'text_mention', offset, length, user: { id: link.userId, is_bot: false, first_name: '' } };
  if (link.url) return { type: 'text_link', offset, length, url: link.url };
  return undefined;
}

const ENTITY_PRIORITY: Record<string, number> = {
  blockquote: 0,
  expandable_blockquote: 0,
  pre: 11,
  code: 20,
  text_link: 49,
  text_mention: 49,
  mention: 50,
  hashtag: 50,
  cashtag: 50,
  bot_command: 50,
  url: 50,
  email: 50,
  bold: 90,
  italic: 91,
  underline: 92,
  strikethrough: 93,
  spoiler: 94,
  custom_emoji: 99,
};

/** sort_entities: by offset, longer first, then TDLib's type priority. */
function sortEntities(entities: Entity[]): Entity[] {
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length || (ENTITY_PRIORITY[a.type] ?? 50) - (ENTITY_PRIORITY[b.type] ?? 50));
}

function decodeHtmlEntity(at: (i: number) => number, pos: number): { code: number; next: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (at(pos + 1) === 0x23 /* # */) {
    end++;
    if (at(pos + 2) === 0x78 /* x */) {
      end++;
      while (isHexDigit(at(end))) code = code * 16 + hexValue(at(end++));
    } else {
      while (isDigit(at(end))) code = code * 10 + at(end++) - 0x30;
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (isAlpha(at(end))) end++;
    const name: string[] = [];
    for (let k = pos + 1; k < end; k++) name.push(String.fromCharCode(at(k)));
    const named: Record<string, number> = { lt: 0x3c, gt: 0x3e, amp: 0x26, quot: 0x22 };
    const value = named[name.join('')];
    if (value === undefined) return undefined;
    code = value;
  }
  return { code, next: at(end) === 0x3b /* ; */ ? end + 1 : end };
}

const HTML_TAGS = new Set(['a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins', 'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote']);

/** TDLib's parse_html (td/telegram/MessageEntity.cpp). */
export function parseHtml(input: string): FormattedText {
  const src = utf8.encode(input);
  const n = src.length;
  const at = (i: number): number => (i >= 0 && i < n ? src[i]! : 0);
  const slice = (from: number, to: number): Uint8Array => src.subarray(from, to);
  const out: number[] = [];
  const entities: Entity[] = [];
  let utf16 = 0;
  let needRecheck = false;
  const stack: { tag: string; argument: string; expandable: boolean; offset: number; beginPos: number }[] = [];

  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (c === 0x26 /* & */) {
      const decoded = decodeHtmlEntity(at, i);
      if (decoded) {
        i = decoded.next - 1;
        utf16 += decoded.code > 0xffff ? 2 : 1;
        if (decoded.code >= 0xd800 && decoded.code <= 0xdfff) needRecheck = true;
        appendUtf8(out, decoded.code);
        continue;
      }
    }
    if (c !== 0x3c /* < */) {
      utf16 += utf16Step(c);
      out.push(c);
      continue;
    }

    const beginPos = i++;
    if (at(i) !== 0x2f /* / */) {
      // begin of an entity
      while (!isSpace(at(i)) && at(i) !== 0x3e) i++;
      if (at(i) === 0) throw new EntityParseError(`Unclosed start tag at byte offset ${beginPos}`);
      const tag = asciiLower(slice(beginPos + 1, i));
      if (!HTML_TAGS.has(tag)) throw new EntityParseError(`Unsupported start tag "${tag}" at byte offset ${beginPos}`);

      let argument = '';
      let expandable = false;
      while (at(i) !== 0x3e) {
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (at(i) === 0x3e) break;
        const attributeBegin = i;
        while (!isSpace(at(i)) && at(i) !== 0x3d /* = */ && at(i) !== 0x3e) i++;
        const attribute = fromUtf8.decode(slice(attributeBegin, i));
        if (attribute === '') throw new EntityParseError(`Empty attribute name in the tag "${tag}" at byte offset ${beginPos}`);
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (tag === 'blockquote' && attribute === 'expandable' && at(i) !== 0x3d) {
          expandable = true;
          continue;
        }
        if (at(i) !== 0x3d) {
          throw new EntityParseError(`Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${beginPos}`);
        }
        i++;
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (at(i) === 0) throw new EntityParseError(`Unclosed start tag "${tag}" at byte offset ${beginPos}`);

        let value: string;
        if (at(i) !== 0x27 && at(i) !== 0x22) {
          // A name token (letters, digits, periods, hyphens), not case sensitive.
          const tokenBegin = i;
          while (isAlnum(at(i)) || at(i) === 0x2e || at(i) === 0x2d) i++;
          value = asciiLower(slice(tokenBegin, i));
          if (!isSpace(at(i)) && at(i) !== 0x3e) throw new EntityParseError(`Unexpected end of name token at byte offset ${tokenBegin}`);
        } else {
          // A string literal
          const endCharacter = at(i++);
          const bytes: number[] = [];
          while (at(i) !== endCharacter && at(i) !== 0) {
            if (at(i) === 0x26) {
              const decoded = decodeHtmlEntity(at, i);
              if (decoded) {
                appendUtf8(bytes, decoded.code);
                i = decoded.next;
                continue;
              }
            }
            bytes.push(at(i++));
          }
          if (at(i) === endCharacter) i++;
          value = fromUtf8.decode(Uint8Array.from(bytes));
        }
        if (at(i) === 0) throw new EntityParseError(`Unclosed start tag at byte offset ${beginPos}`);

        if (tag === 'a' && attribute === 'href') argument = value;
        else if (tag === 'code' && attribute === 'class' && value.startsWith('language-')) argument = value.slice(9);
        else if (tag === 'span' && attribute === 'class' && value.startsWith('tg-')) argument = value.slice(3);
        else if (tag === 'tg-emoji' && attribute === 'emoji-id') argument = value;
      }
      if (tag === 'span' && argument !== 'spoiler') throw new EntityParseError(`Tag "span" must have class "tg-spoiler" at byte offset ${beginPos}`);
      stack.push({ tag, argument, expandable, offset: utf16, beginPos: out.length });
    } else {
      // end of an entity
      if (stack.length === 0) throw new EntityParseError(`Unexpected end tag at byte offset ${beginPos}`);
      while (!isSpace(at(i)) && at(i) !== 0x3e) i++;
      const endTag = asciiLower(slice(beginPos + 2, i));
      while (isSpace(at(i)) && at(i) !== 0) i++;
      if (at(i) !== 0x3e) throw new EntityParseError(`Unclosed end tag at byte offset ${beginPos}`);
      const top = stack[stack.length - 1]!;
      if (endTag !== '' && endTag !== top.tag) {
        throw new EntityParseError(`Unmatched end tag at byte offset ${beginPos}, expected "</${top.tag}>", found "</${endTag}>"`);
      }
      if (utf16 > top.offset) {
        const offset = top.offset;
        const length = utf16 - offset;
        const last = entities[entities.length - 1];
        const tag = top.tag;
        if (tag === 'i' || tag === 'em') entities.push({ type: 'italic', offset, length });
        else if (tag === 'b' || tag === 'strong') entities.push({ type: 'bold', offset, length });
        else if (tag === 's' || tag === 'strike' || tag === 'del') entities.push({ type: 'strikethrough', offset, length });
        else if (tag === 'u' || tag === 'ins') entities.push({ type: 'underline', offset, length });
        else if (tag === 'tg-spoiler' || tag === 'span') entities.push({ type: 'spoiler', offset, length });
        else if (tag === 'tg-emoji') {
          if (!/^-?\d+$/.test(top.argument) || BigInt(top.argument) === 0n) throw new EntityParseError('Invalid custom emoji identifier specified');
          entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: top.argument });
        } else if (tag === 'a') {
          const url = top.argument !== '' ? top.argument : fromUtf8.decode(Uint8Array.from(out.slice(top.beginPos)));
          const e = linkEntity(offset, length, url);
          if (e) entities.push(e);
        } else if (tag === 'pre') {
          if (last && last.type === 'code' && last.offset === offset && last.length === length && last.language) last.type = 'pre';
          else entities.push({ type: 'pre', offset, length });
        } else if (tag === 'code') {
          if (last && last.type === 'pre' && last.offset === offset && last.length === length && top.argument !== '') last.language = top.argument;
          else entities.push({ type: 'code', offset, length, ...(top.argument !== '' ? { language: top.argument } : {}) });
        } else if (tag === 'blockquote') {
          entities.push({ type: top.expandable ? 'expandable_blockquote' : 'blockquote', offset, length });
        }
      }
      stack.pop();
    }
  }
  if (stack.length > 0) throw new EntityParseError(`Can't find end tag corresponding to start tag ${stack[stack.length - 1]!.tag}`);
  for (const e of entities) if (e.type === 'code') delete e.language;
  if (needRecheck) {
    // A decoded surrogate half can only form valid text with its pair; TDLib's check_utf8 rejects them all.
    throw new EntityParseError('Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units');
  }
  return { text: fromUtf8.decode(Uint8Array.from(out)), entities: sortEntities(entities) };
}

type MdType = 'bold' | 'italic' | 'underline' | 'strikethrough' | 'spoiler' | 'code' | 'pre' | 'text_link' | 'custom_emoji' | 'blockquote';
/** How TDLib prints MessageEntity::Type in "Can't find end of <Type> entity" errors. */
const MD_TYPE_NAME: Record<MdType, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
  blockquote: 'BlockQuote',
};
const MDV2_RESERVED = new Set(Array.from('_*[]()~`>#+-=|{}.!\n', (ch) => ch.charCodeAt(0)));

function customEmojiId(url: string): string {
  const m = /^tg:\/\/emoji\?id=(\d+)$/i.exec(url.trim());
  if (!/^tg:/i.test(url.trim())) throw new EntityParseError('Custom emoji URL must have scheme tg');
  if (!m) throw new EntityParseError('Custom emoji URL must have an emoji identifier');
  if (BigInt(m[1]!) === 0n) throw new EntityParseError('Invalid custom emoji identifier specified');
  return m[1]!;
}

/** TDLib's parse_markdown_v2. */
export function parseMarkdownV2(input: string): FormattedText {
  const src = utf8.encode(input);
  const n = src.length;
  const at = (i: number): number => (i >= 0 && i < n ? src[i]! : 0);
  const out: number[] = [];
  const entities: Entity[] = [];
  let utf16 = 0;
  let haveBlockquote = false;
  const stack: { type: MdType; language: string; offset: number; byteOffset: number; beginPos: number }[] = [];
  const reserved = (c: number): EntityParseError =>
    new EntityParseError(`Character '${String.fromCharCode(c)}' is reserved and must be escaped with the preceding '\\'`);

  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (c === 0x5c /* \ */ && at(i + 1) > 0 && at(i + 1) <= 126) {
      i++;
      utf16 += 1;
      out.push(src[i]!);
      continue;
    }
    const top = stack[stack.length - 1];
    const inCode = top !== undefined && (top.type === 'code' || top.type === 'pre');
    if (inCode ? c !== 0x60 : !MDV2_RESERVED.has(c)) {
      utf16 += utf16Step(c);
      out.push(c);
      continue;
    }

    let isEnd = false;
    if (top) {
      if (haveBlockquote && c === 0x0a && (i + 1 === n || src[i + 1] !== 0x3e)) isEnd = true;
      else {
        switch (top.type) {
          case 'bold':
            isEnd = c === 0x2a;
            break;
          case 'italic':
            isEnd = c === 0x5f && at(i + 1) !== 0x5f;
            break;
          case 'code':
            isEnd = c === 0x60;
            break;
          case 'pre':
            isEnd = c === 0x60 && at(i + 1) === 0x60 && at(i + 2) === 0x60;
            break;
          case 'text_link':
          case 'custom_emoji':
            isEnd = c === 0x5d;
            break;
          case 'underline':
            isEnd = c === 0x5f && at(i + 1) === 0x5f;
            break;
          case 'strikethrough':
            isEnd = c === 0x7e;
            break;
          case 'spoiler':
            isEnd = c === 0x7c && at(i + 1) === 0x7c;
            break;
          case 'blockquote':
            isEnd = false;
            break;
        }
      }
    }

    if (!isEnd) {
      // begin of an entity
      let type: MdType | 'none';
      let language = '';
      const byteOffset = i;
      switch (c) {
        case 0x5f: // _
          if (at(i + 1) === 0x5f) {
            type = 'underline';
            i++;
          } else type = 'italic';
          break;
        case 0x2a: // *
          type = 'bold';
          break;
        case 0x7e: // ~
          type = 'strikethrough';
          break;
        case 0x7c: // |
          if (at(i + 1) !== 0x7c) throw reserved(c);
          i++;
          type = 'spoiler';
          break;
        case 0x5b: // [
          type = 'text_link';
          break;
        case 0x60: // `
          if (at(i + 1) === 0x60 && at(i + 2) === 0x60) {
            i += 3;
            type = 'pre';
            let languageEnd = i;
            while (!isSpace(at(languageEnd)) && at(languageEnd) !== 0x60) languageEnd++;
            if (i !== languageEnd && languageEnd < n && at(languageEnd) !== 0x60) {
              language = fromUtf8.decode(src.subarray(i, languageEnd));
              i = languageEnd;
            }
            // skip one new line in the beginning of the text
            if (at(i) === 0x0a || at(i) === 0x0d) {
              if ((at(i + 1) === 0x0a || at(i + 1) === 0x0d) && at(i) !== at(i + 1)) i += 2;
              else i++;
            }
            i--;
          } else type = 'code';
          break;
        case 0x21: // !
          if (at(i + 1) !== 0x5b) throw reserved(c);
          i++;
          type = 'custom_emoji';
          break;
        case 0x0a: // \n
          utf16 += 1;
          out.push(0x0a);
          type = 'none';
          if (i + 1 < n && src[i + 1] === 0x3e) {
            i++;
            if (!haveBlockquote) {
              type = 'blockquote';
              haveBlockquote = true;
            }
          }
          break;
        case 0x3e: // >
          if (i !== 0) throw reserved(c);
          type = 'blockquote';
          haveBlockquote = true;
          break;
        default:
          throw reserved(c);
      }
      if (type === 'none') continue;
      stack.push({ type, language, offset: utf16, byteOffset, beginPos: out.length });
    } else {
      // end of an entity
      const entry = top!;
      if (c === 0x0a && entry.type !== 'blockquote') {
        throw new EntityParseError(`Can't find end of ${MD_TYPE_NAME[entry.type]} entity at byte offset ${entry.byteOffset}`);
      }
      let skip = utf16 === entry.offset;
      let made: Entity | undefined;
      const offset = entry.offset;
      const readUrl = (what: string): string => {
        i += 2;
        const urlBegin = i;
        const bytes: number[] = [];
        while (i < n && src[i] !== 0x29) {
          if (src[i] === 0x5c && at(i + 1) > 0 && at(i + 1) <= 126) {
            bytes.push(src[i + 1]!);
            i += 2;
            continue;
          }
          bytes.push(src[i++]!);
        }
        if (at(i) !== 0x29) throw new EntityParseError(`Can't find end of ${what} at byte offset ${urlBegin}`);
        return fromUtf8.decode(Uint8Array.from(bytes));
      };
      switch (entry.type) {
        case 'bold':
        case 'italic':
        case 'code':
        case 'strikethrough':
          break;
        case 'underline':
        case 'spoiler':
          i++;
          break;
        case 'pre':
          i += 2;
          break;
        case 'text_link': {
          const url = at(i + 1) !== 0x28 ? fromUtf8.decode(Uint8Array.from(out.slice(entry.beginPos))) : readUrl('a URL');
          made = linkEntity(offset, utf16 - offset, url);
          if (!made) skip = true;
          break;
        }
        case 'custom_emoji': {
          if (at(i + 1) !== 0x28) throw new EntityParseError('Custom emoji entity must contain a tg://emoji URL');
          const id = customEmojiId(readUrl('a custom emoji URL'));
          made = { type: 'custom_emoji', offset, length: utf16 - offset, custom_emoji_id: id };
          break;
        }
        case 'blockquote':
          haveBlockquote = false;
          out.push(c);
          utf16 += 1;
          break;
      }
      if (!skip) {
        const length = utf16 - offset;
        if (made) entities.push({ ...made, length });
        else if (entry.type === 'pre') entities.push({ type: 'pre', offset, length, ...(entry.language ? { language: entry.language } : {}) });
        else entities.push({ type: entry.type, offset, length });
      }
      stack.pop();
    }
  }
  if (haveBlockquote) {
    const top = stack[stack.length - 1];
    if (top && top.type === 'blockquote') {
      const length = utf16 - top.offset;
      if (length !== 0) entities.push({ type: 'blockquote', offset: top.offset, length });
      stack.pop();
    }
  }
  if (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    throw new EntityParseError(`Can't find end of ${MD_TYPE_NAME[top.type]} entity at byte offset ${top.byteOffset}`);
  }
  return { text: fromUtf8.decode(Uint8Array.from(out)), entities: sortEntities(entities) };
}

/** TDLib's parse_markdown (legacy parse_mode "Markdown"). */
export function parseMarkdownV1(input: string): FormattedText {
  const src = utf8.encode(input);
  const n = src.length;
  const at = (i: number): number => (i >= 0 && i < n ? src[i]! : 0);
  const out: number[] = [];
  const entities: Entity[] = [];
  let utf16 = 0;
  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (c === 0x5c && (at(i + 1) === 0x5f || at(i + 1) === 0x2a || at(i + 1) === 0x60 || at(i + 1) === 0x5b)) {
      i++;
      out.push(src[i]!);
      utf16++;
      continue;
    }
    if (c !== 0x5f && c !== 0x2a && c !== 0x60 && c !== 0x5b) {
      utf16 += utf16Step(c);
      out.push(c);
      continue;
    }
    const beginPos = i;
    const endCharacter = c === 0x5b ? 0x5d : c;
    let isPre = false;
    i++;
    let language = '';
    if (c === 0x60 && at(i) === 0x60 && at(i + 1) === 0x60) {
      i += 2;
      isPre = true;
      let languageEnd = i;
      while (!isSpace(at(languageEnd)) && at(languageEnd) !== 0x60) languageEnd++;
      if (i !== languageEnd && languageEnd < n && at(languageEnd) !== 0x60) {
        language = fromUtf8.decode(src.subarray(i, languageEnd));
        i = languageEnd;
      }
      if (at(i) === 0x0a || at(i) === 0x0d) {
        if ((at(i + 1) === 0x0a || at(i + 1) === 0x0d) && at(i) !== at(i + 1)) i += 2;
        else i++;
      }
    }
    const offset = utf16;
    const entityBegin = out.length;
    while (i < n && (src[i] !== endCharacter || (isPre && !(at(i + 1) === 0x60 && at(i + 2) === 0x60)))) {
      utf16 += utf16Step(src[i]!);
      out.push(src[i++]!);
    }
    if (i === n) throw new EntityParseError(`Can't find end of the entity starting at byte offset ${beginPos}`);
    if (offset !== utf16) {
      const length = utf16 - offset;
      if (c === 0x5f) entities.push({ type: 'italic', offset, length });
      else if (c === 0x2a) entities.push({ type: 'bold', offset, length });
      else if (c === 0x5b) {
        let url: string;
        if (at(i + 1) !== 0x28) url = fromUtf8.decode(Uint8Array.from(out.slice(entityBegin)));
        else {
          i += 2;
          const bytes: number[] = [];
          while (i < n && src[i] !== 0x29) bytes.push(src[i++]!);
          url = fromUtf8.decode(Uint8Array.from(bytes));
        }
        const e = linkEntity(offset, length, url);
        if (e) entities.push(e);
      } else if (isPre) entities.push({ type: 'pre', offset, length, ...(language ? { language } : {}) });
      else entities.push({ type: 'code', offset, length });
    }
    if (isPre) i += 2;
  }
  return { text: fromUtf8.decode(Uint8Array.from(out)), entities: sortEntities(entities) };
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const isWordChar = (ch: string | undefined): boolean => ch !== undefined && WORD_CHAR.test(ch);
/** Short usernames TDLib still links (inline bots). */
const SHORT_USERNAMES = new Set(['gif', 'wiki', 'vid', 'bing', 'pic', 'bold', 'imdb', 'coub', 'like', 'vote']);

/**
 * The entities Telegram finds by itself in a message text (TDLib find_entities, simplified): mentions
 * (match_mentions + the 4-character minimum), bot commands (match_bot_commands), hashtags, cashtags,
 * URLs with a scheme or www., e-mail addresses.
 */
export function findAutoEntities(text: string): Entity[] {
  const found: Entity[] = [];
  const charBefore = (i: number): string | undefined => {
    if (i <= 0) return undefined;
    const code = text.codePointAt(i - 1)!;
    if (code >= 0xdc00 && code <= 0xdfff && i >= 2) return String.fromCodePoint(text.codePointAt(i - 2)!);
    return String.fromCodePoint(code);
  };
  const charAt = (i: number): string | undefined => (i < text.length ? String.fromCodePoint(text.codePointAt(i)!) : undefined);

  // mentions: (?<=\B)@([a-zA-Z0-9_]{2,32})(?=\b), then names shorter than 4 dropped unless known inline bots
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    if (isWordChar(charBefore(i))) continue;
    let j = i + 1;
    while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
    const size = j - i - 1;
    if (size < 2 || size > 32 || isWordChar(charAt(j))) continue;
    const name = text.slice(i + 1, j);
    if (name.length < 4 && !SHORT_USERNAMES.has(name.toLowerCase())) continue;
    found.push({ type: 'mention', offset: i, length: j - i });
  }
  // bot commands: (?<!\b|[\/<>])\/([a-zA-Z0-9_]{1,64})(?:@([a-zA-Z0-9_]{3,32}))?(?!\B|[\/<>])
  for (let i = text.indexOf('/'); i !== -1; i = text.indexOf('/', i + 1)) {
    const prev = charBefore(i);
    if (isWordChar(prev) || prev === '/' || prev === '<' || prev === '>') continue;
    let j = i + 1;
    while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
    const size = j - i - 1;
    if (size < 1 || size > 64) continue;
    if (text[j] === '@') {
      let k = j + 1;
      while (k < text.length && /[A-Za-z0-9_]/.test(text[k]!)) k++;
      const mentionSize = k - j - 1;
      if (mentionSize < 3 || mentionSize > 32) continue;
      j = k;
    }
    const next = charAt(j);
    if (isWordChar(next) || next === '/' || next === '<' || next === '>') continue;
    found.push({ type: 'bot_command', offset: i, length: j - i });
  }
  // hashtags and cashtags
  for (const m of text.matchAll(/(?<![\p{L}\p{N}_\u200c])#([\p{L}\p{N}_\u200c]{1,256})(?![\p{L}\p{N}_\u200c]*#)/gu)) {
    if (/\p{L}/u.test(m[1]!)) found.push({ type: 'hashtag', offset: m.index, length: m[0].length });
  }
  for (const m of text.matchAll(/(?<![$\p{L}\p{N}_\u200c])\$(1INCH|[A-Z]{1,8})(?![$\p{L}\p{N}_\u200c])/gu)) {
    found.push({ type: 'cashtag', offset: m.index, length: m[0].length });
  }
  // URLs with a scheme or www., and e-mail addresses
  for (const m of text.matchAll(/\b(?:https?:\/\/|www\.)[^\s<>"«»]+/giu)) {
    const url = m[0].replace(/[.,:;!?'`)]+$/u, '');
    if (url.length > 0) found.push({ type: 'url', offset: m.index, length: url.length });
  }
  for (const m of text.matchAll(/(?<![\p{L}\p{N}_.+-])[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/gu)) {
    found.push({ type: 'email', offset: m.index, length: m[0].length });
  }
  // an e-mail's domain or a URL's path is not a mention/command/hashtag of its own
  const spans = found.filter((e) => e.type === 'url' || e.type === 'email');
  return sortEntities(
    found.filter((e) => e.type === 'url' || e.type === 'email' || !spans.some((s) => e.offset >= s.offset && e.offset < s.offset + s.length)),
  );
}

/** Entities that exclude automatic ones inside them. */
const CONTINUOUS = new Set(['code', 'pre', 'text_link', 'text_mention', 'custom_emoji']);

/**
 * What the Bot API does with a text before sending it: parse_mode entities (or the given `entities`),
 * trimming of leading/trailing whitespace, automatic entities. Throws EntityParseError.
 */
export function parseEntities(text: string, parseMode?: string, entities?: Entity[]): FormattedText {
  let parsed: FormattedText;
  const mode = (parseMode ?? '').toLowerCase();
  if (mode === 'html') parsed = parseHtml(text);
  else if (mode === 'markdownv2') parsed = parseMarkdownV2(text);
  else if (mode === 'markdown') parsed = parseMarkdownV1(text);
  else parsed = { text, entities: (entities ?? []).map((e) => ({ ...e })) };
  return finishText(parsed);
}

/** TDLib's fix_formatted_text, simplified: trim, clip entities, drop empty ones, add automatic entities. */
function finishText(parsed: FormattedText): FormattedText {
  const raw = parsed.text;
  let start = 0;
  let end = raw.length;
  while (start < end && /[ \t\n\r\v\f]/.test(raw[start]!)) start++;
  while (end > start && /[ \t\n\r\v\f]/.test(raw[end - 1]!)) end--;
  const text = raw.slice(start, end);
  const kept: Entity[] = [];
  for (const e of parsed.entities) {
    const from = Math.max(e.offset, start);
    const to = Math.min(e.offset + e.length, end);
    if (to > from) kept.push({ ...e, offset: from - start, length: to - from });
  }
  const blockers = kept.filter((e) => CONTINUOUS.has(e.type));
  for (const auto of findAutoEntities(text)) {
    const clash = blockers.some((b) => auto.offset < b.offset + b.length && b.offset < auto.offset + auto.length);
    if (!clash) kept.push(auto);
  }
  return { text, entities: sortEntities(kept) };
}

// =============================================================================================
// Request bodies: JSON, urlencoded, multipart/form-data

interface FilePart {
  filename: string;
  contentType: string;
  data: Buffer;
}

function parseMultipart(body: Buffer, boundary: string): { fields: Record<string, string>; files: Map<string, FilePart> } {
  const fields: Record<string, string> = {};
  const files = new Map<string, FilePart>();
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing delimiter
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd === -1) break;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next === -1) break;
    let dataEnd = next;
    if (body[dataEnd - 2] === 0x0d && body[dataEnd - 1] === 0x0a) dataEnd -= 2;
    const data = body.subarray(headerEnd + 4, dataEnd);
    // grammy writes `content-disposition:form-data;name="x";filename=notes.txt` (no spaces, filename unquoted)
    const dispositionParam = (key: string): string | undefined => {
      const m = new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;\\r\\n]*))`, 'im').exec(/content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '');
      return m ? (m[1] ?? m[2]!.trim()) : undefined;
    };
    const name = dispositionParam('name');
    const filename = dispositionParam('filename');
    const contentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
    if (name !== undefined) {
      if (filename !== undefined) files.set(name, { filename, contentType, data: Buffer.from(data) });
      else fields[name] = data.toString('utf8');
    }
    pos = next;
  }
  return { fields, files };
}

// =============================================================================================
// The fake

export interface FakeTelegramOptions {
  token?: string;
  botUsername?: string;
  botFirstName?: string;
  /** Port to listen on (127.0.0.1), read at start and by up(). Default 0 (any free port). */
  port?: number;
  /** update_id of the first auto-numbered update (default 100000001). */
  firstUpdateId?: number;
  /** Base of the webhook redelivery backoff: at once, then 2x, 4x, 8x... this (real: 1000). Default 100. */
  webhookRetryDelayMs?: number;
  /** A webhook request that takes longer fails with "Read timeout expired". Default 5000. */
  webhookTimeoutMs?: number;
  /** The real server turns a short poll repeating the previous offset within 3 s into a 3 s long poll. 0 (default) = off. */
  repeatPollSeconds?: number;
}

export interface RecordedRequest {
  method: string;
  params: Record<string, unknown>;
  at: number;
  httpMethod: string;
  token: string;
  status: number;
  response: unknown;
  via: 'http' | 'webhook-reply';
}

export interface FailSpec {
  error_code: number;
  description: string;
  retry_after?: number;
  parameters?: Record<string, unknown>;
}

export interface RateLimit {
  perChatPerSecond?: number;
  perGroupPerMinute?: number;
  globalPerSecond?: number;
}

export interface UserOpts {
  id: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_bot?: boolean;
}

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

export interface MessageOpts {
  chatId: number;
  chatType?: ChatType;
  /** Group/channel title (default 'Test group' / 'Test channel'). */
  title?: string;
  from?: UserOpts;
  threadId?: number;
  /** message_id of the message this one replies to (in the same chat). */
  replyTo?: number;
  /** Forum supergroup (is_forum); implied by threadId in a supergroup. */
  isForum?: boolean;
  /** Unix time; default now. */
  date?: number;
}

export interface TextMessageOpts extends MessageOpts {
  text: string;
  /** Given entities replace the computed ones. */
  entities?: object[];
}

export interface PhotoMessageOpts extends MessageOpts {
  bytes?: Buffer;
  width?: number;
  height?: number;
  caption?: string;
}

export interface DocumentMessageOpts extends MessageOpts {
  bytes?: Buffer;
  fileName?: string;
  mimeType?: string;
  caption?: string;
}

export interface HostedFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
}

export interface WebhookDelivery {
  update_id: number;
  attempt: number;
  status: number;
  error?: string;
  at: number;
}

export interface MethodContext {
  fake: FakeTelegram;
  files: Map<string, FilePart>;
  via: 'http' | 'webhook-reply';
}

export type MethodHandler = (params: Record<string, unknown>, ctx: MethodContext) => unknown | Promise<unknown>;

export interface FakeTelegram {
  apiRoot: string;
  token: string;
  bot: { id: number; username: string; first_name: string };
  options: FakeTelegramOptions;
  requests: RecordedRequest[];
  sent: Message[];
  chatActions: { chat_id: number | string; action: string; message_thread_id?: number }[];
  downloads: { path: string; status: number }[];
  webhookDeliveries: WebhookDelivery[];
  webhook: { url: string; secret_token?: string } | null;
  readonly allowedUpdates: string[];
  rateLimit?: RateLimit;
  readonly confirmedUpTo: number;
  pendingUpdates(): Update[];
  pushUpdate(update: object): number;
  textMessage(opts: TextMessageOpts): Update;
  photoMessage(opts: PhotoMessageOpts): Update;
  documentMessage(opts: DocumentMessageOpts): Update;
  addChat(chat: { id: number; type?: ChatType; title?: string; username?: string; first_name?: string; is_forum?: boolean; blocked?: boolean }): Record<string, unknown>;
  message(chatId: number, messageId: number): Message | undefined;
  addFile(bytes: Buffer, opts?: { path?: string; kind?: 'photo' | 'document' | 'voice' | 'audio' | 'video'; fileName?: string }): HostedFile;
  failNext(method: string, error: FailSpec, times?: number): void;
  handle(method: string, fn: MethodHandler): void;
  down(ms?: number): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

interface ChatRecord {
  chat: Record<string, unknown>;
  type: ChatType;
  nextMessageId: number;
  messages: Map<number, Record<string, unknown>>;
  blocked: boolean;
}

interface QueuedUpdate {
  update_id: number;
  update: Record<string, unknown>;
  failCount: number;
}

interface Poll {
  offset: number;
  limit: number;
  timer: NodeJS.Timeout;
  wake: NodeJS.Immediate | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const NO_RESPONSE = Symbol('no response');

/** A result with the optional "description" the real server adds to some successes ("Webhook was set"). */
class Described {
  readonly result: unknown;
  readonly description: string;
  constructor(result: unknown, description: string) {
    this.result = result;
    this.description = description;
  }
}

const b64url = (bytes: number): string => randomBytes(bytes).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

function strParam(params: Record<string, unknown>, name: string): string {
  const v = params[name];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** get_integer_arg: default when absent or not a number, clamped to [min, max]. */
function intParam(params: Record<string, unknown>, name: string, def: number, min = -Infinity, max = Infinity): number {
  const s = strParam(params, name).trim();
  const n = /^[-+]?\d+$/.test(s) ? Number(s) : def;
  return Math.min(max, Math.max(min, n));
}

function boolParam(params: Record<string, unknown>, name: string): boolean {
  const s = strParam(params, name).toLowerCase();
  return s === 'true' || s === '1';
}

function objParam(params: Record<string, unknown>, name: string): unknown {
  const v = params[name];
  if (typeof v !== 'string') return v;
  if (v.trim() === '') return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function updateTypeOf(update: Record<string, unknown>): string | undefined {
  return Object.keys(update).find((k) => k !== 'update_id');
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === '127.0.0.1' || h === 'localhost' || h === '::1';
}

export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const options: FakeTelegramOptions = { webhookRetryDelayMs: 100, webhookTimeoutMs: 5000, repeatPollSeconds: 0, ...opts };
  const token = options.token ?? DEFAULT_TOKEN;
  const botId = Number(token.slice(0, token.indexOf(':'))) || 123456789;
  const botUser = {
    id: botId,
    is_bot: true,
    first_name: options.botFirstName ?? 'Clawd Test Bot',
    username: options.botUsername ?? 'clawd_test_bot',
  };

  const requests: RecordedRequest[] = [];
  const sent: Message[] = [];
  const chatActions: FakeTelegram['chatActions'] = [];
  const downloads: FakeTelegram['downloads'] = [];
  const webhookDeliveries: WebhookDelivery[] = [];
  const chats = new Map<number, ChatRecord>();
  const filesById = new Map<string, HostedFile & { data: Buffer }>();
  const filesByPath = new Map<string, HostedFile & { data: Buffer }>();
  const failures = new Map<string, { spec: FailSpec; left: number }[]>();
  const custom = new Map<string, MethodHandler>();
  const sendLog: { chatId: number; group: boolean; at: number }[] = [];
  let fileCounter = 0;

  // update queue (TQueue): ids are increasing; `tail` is the next id to assign
  const queue: QueuedUpdate[] = [];
  let tail = options.firstUpdateId ?? 100000001;
  let confirmedUpTo = 0;
  let allowed: string[] | null = null; // null = default
  let poll: Poll | undefined;
  let previousPoll = { offset: Number.NaN, at: 0 };

  // webhook state
  let webhookState: { url: string; secret_token?: string; max_connections: number; setAt: number } | null = null;
  let webhookGeneration = 0;
  let lastWebhookError: { date: number; message: string } | undefined;
  let lastSetWebhookAt = 0;
  let delivering = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const outgoing = new Set<http.ClientRequest>();

  // server state
  const sockets = new Set<Socket>();
  let isDown = false;
  let closing = false;
  let downTimer: NodeJS.Timeout | undefined;

  // ------------------------------------------------------------------------------------------
  // chats and messages

  const chatRecord = (id: number, type?: ChatType, extra: { title?: string; username?: string; first_name?: string; is_forum?: boolean } = {}): ChatRecord => {
    let rec = chats.get(id);
    if (!rec) {
      const t: ChatType = type ?? (id > 0 ? 'private' : id <= -1000000000000 ? 'supergroup' : 'group');
      const chat: Record<string, unknown> = { id };
      if (t === 'private') {
        chat.first_name = extra.first_name ?? 'Test';
        if (extra.username) chat.username = extra.username;
      } else {
        chat.title = extra.title ?? (t === 'channel' ? 'Test channel' : 'Test group');
        if (extra.username) chat.username = extra.username;
        if (t === 'supergroup' && extra.is_forum) chat.is_forum = true;
      }
      chat.type = t;
      rec = { chat, type: t, nextMessageId: 1, messages: new Map(), blocked: false };
      chats.set(id, rec);
    } else if (extra.is_forum && rec.type === 'supergroup') rec.chat.is_forum = true;
    return rec;
  };

  const resolveChat = (params: Record<string, unknown>): ChatRecord => {
    const raw = strParam(params, 'chat_id').trim();
    if (raw === '') throw badRequest('chat_id is empty');
    let rec: ChatRecord | undefined;
    if (/^-?\d+$/.test(raw)) rec = chats.get(Number(raw));
    else if (raw.startsWith('@')) rec = [...chats.values()].find((c) => typeof c.chat.username === 'string' && c.chat.username.toLowerCase() === raw.slice(1).toLowerCase());
    if (!rec) throw badRequest('chat not found');
    if (rec.blocked) throw new TelegramApiError(403, rec.type === 'private' ? 'Forbidden: bot was blocked by the user' : 'Forbidden: bot was kicked from the group chat');
    return rec;
  };

  const userObject = (u: UserOpts | undefined, fallbackId: number): Record<string, unknown> => {
    const user: Record<string, unknown> = { id: u?.id ?? fallbackId, is_bot: u?.is_bot ?? false, first_name: u?.first_name ?? 'Test' };
    if (u?.last_name) user.last_name = u.last_name;
    if (u?.username) user.username = u.username;
    user.language_code = u?.language_code ?? 'en';
    if (user.is_bot) delete user.language_code;
    return user;
  };

  /** A message as Telegram nests it in reply_to_message: without its own reply_to_message. */
  const shallow = (m: Record<string, unknown>): Record<string, unknown> => {
    const { reply_to_message: _drop, ...rest } = m;
    return structuredClone(rest);
  };

  /** An inbound (user) message stored in its chat, wrapped in an Update without update_id. */
  const inbound = (o: MessageOpts, content: Record<string, unknown>): Update => {
    const type = o.chatType ?? (o.chatId > 0 ? 'private' : undefined);
    const forum = o.isForum ?? (o.threadId !== undefined && (type ?? (o.chatId <= -1000000000000 ? 'supergroup' : 'group')) === 'supergroup');
    const rec = chatRecord(o.chatId, type, {
      ...(o.title !== undefined ? { title: o.title } : {}),
      ...(o.from?.first_name && o.chatId > 0 ? { first_name: o.from.first_name } : {}),
      ...(o.from?.username && o.chatId > 0 ? { username: o.from.username } : {}),
      is_forum: forum,
    });
    const message: Record<string, unknown> = { message_id: rec.nextMessageId++ };
    if (o.threadId !== undefined && rec.type === 'supergroup') {
      message.message_thread_id = o.threadId;
      if (rec.chat.is_forum) message.is_topic_message = true;
    }
    if (rec.type === 'channel') message.sender_chat = structuredClone(rec.chat);
    else message.from = userObject(o.from, rec.type === 'private' ? o.chatId : 424242001);
    message.chat = structuredClone(rec.chat);
    message.date = o.date ?? now();
    if (o.replyTo !== undefined) {
      const replied = rec.messages.get(o.replyTo);
      message.reply_to_message = replied ? shallow(replied) : { message_id: o.replyTo, chat: structuredClone(rec.chat), date: message.date };
    }
    Object.assign(message, content);
    rec.messages.set(message.message_id as number, message);
    return { [rec.type === 'channel' ? 'channel_post' : 'message']: structuredClone(message) } as unknown as Update;
  };

  // ------------------------------------------------------------------------------------------
  // files

  const FILE_KINDS = {
    photo: { dir: 'photos', prefix: 'AgACAgIAAxkBAAI', unique: 'AQAD', ext: 'jpg' },
    document: { dir: 'documents', prefix: 'BQACAgIAAxkBAAI', unique: 'AgAD', ext: 'bin' },
    voice: { dir: 'voice', prefix: 'AwACAgIAAxkBAAI', unique: 'AgAD', ext: 'oga' },
    audio: { dir: 'music', prefix: 'CQACAgIAAxkBAAI', unique: 'AgAD', ext: 'mp3' },
    video: { dir: 'videos', prefix: 'BAACAgIAAxkBAAI', unique: 'AgAD', ext: 'mp4' },
  } as const;

  const addFile: FakeTelegram['addFile'] = (bytes, o = {}) => {
    const kind = FILE_KINDS[o.kind ?? 'document'];
    fileCounter++;
    const ext = /\.([A-Za-z0-9]{1,8})$/.exec(o.fileName ?? '')?.[1]?.toLowerCase() ?? kind.ext;
    const file = {
      file_id: `${kind.prefix}${b64url(30)}`,
      file_unique_id: `${kind.unique}${b64url(9)}`,
      file_size: bytes.length,
      file_path: o.path ?? `${kind.dir}/file_${fileCounter}.${ext}`,
      data: Buffer.from(bytes),
    };
    filesById.set(file.file_id, file);
    filesByPath.set(file.file_path, file);
    const { data: _data, ...hosted } = file;
    return hosted;
  };

  // ------------------------------------------------------------------------------------------
  // update queue, long polling, webhook

  const allowedSet = (): Set<string> => new Set(allowed ?? DEFAULT_ALLOWED_UPDATES);

  /** update_allowed_update_types: a JSON array of names; nothing valid (or []) means the default; anything else leaves it. */
  const applyAllowedUpdates = (params: Record<string, unknown>): void => {
    const v = objParam(params, 'allowed_updates');
    if (!Array.isArray(v)) return;
    if (!v.every((x) => typeof x === 'string')) return;
    const names = (v as string[]).map((x) => x.toLowerCase()).filter((x) => (UPDATE_TYPES as readonly string[]).includes(x));
    allowed = names.length === 0 ? null : [...new Set(names)];
  };

  const forgetBefore = (offset: number): void => {
    while (queue.length > 0 && queue[0]!.update_id < offset) {
      confirmedUpTo = Math.max(confirmedUpTo, queue[0]!.update_id);
      queue.shift();
    }
  };

  /** do_get_updates: normalizes the offset (0 = head, negative = from the end), forgets older updates, returns a batch. */
  const normalizeOffset = (offset: number): number => {
    const head = queue.length > 0 ? queue[0]!.update_id : tail;
    if (offset <= 0) {
      if (queue.length > 0 && offset < 0) offset += tail;
      if (offset < head) offset = head;
    }
    return offset;
  };
  const takeBatch = (offset: number, limit: number): Record<string, unknown>[] => {
    forgetBefore(offset);
    return queue
      .filter((q) => q.update_id >= offset)
      .slice(0, limit)
      .map((q) => ({ update_id: q.update_id, ...structuredClone(q.update) }));
  };

  const finishPoll = (p: Poll, value: unknown, isError = false): void => {
    if (poll === p) poll = undefined;
    clearTimeout(p.timer);
    if (p.wake) clearImmediate(p.wake);
    if (isError) p.reject(value);
    else p.resolve(value);
  };

  const abortPoll = (message: string): void => {
    if (poll) finishPoll(poll, new TelegramApiError(409, message), true);
  };

  const wakePoll = (): void => {
    const p = poll;
    if (!p || p.wake) return;
    // Like LONG_POLL_WAIT_AFTER: answer once the updates pushed in this tick are all queued.
    p.wake = setImmediate(() => {
      p.wake = undefined;
      if (poll !== p) return;
      const batch = takeBatch(p.offset, p.limit);
      if (batch.length > 0) finishPoll(p, batch);
    });
  };

  const pushUpdate = (update: object): number => {
    const u = structuredClone(update) as Record<string, unknown>;
    const type = updateTypeOf(u);
    if (type === undefined || !allowedSet().has(type)) return 0;
    let id = typeof u.update_id === 'number' ? u.update_id : tail;
    if (id < tail && queue.some((q) => q.update_id === id)) id = tail;
    delete u.update_id;
    tail = Math.max(tail, id + 1);
    queue.push({ update_id: id, update: u, failCount: 0 });
    queue.sort((a, b) => a.update_id - b.update_id);
    if (webhookState) kickWebhook();
    else wakePoll();
    return id;
  };

  const webhookInfo = (): Record<string, unknown> => {
    const info: Record<string, unknown> = { url: webhookState?.url ?? '', has_custom_certificate: false, pending_update_count: queue.length };
    if (webhookState) {
      info.ip_address = '127.0.0.1';
      if (lastWebhookError) {
        info.last_error_date = lastWebhookError.date;
        info.last_error_message = lastWebhookError.message;
      }
      info.max_connections = webhookState.max_connections;
      if (allowed) info.allowed_updates = [...allowed];
    }
    return info;
  };

  const setWebhookState = (next: { url: string; secret_token?: string; max_connections?: number } | null): void => {
    webhookGeneration++;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    for (const r of outgoing) r.destroy();
    outgoing.clear();
    delivering = false;
    lastWebhookError = undefined;
    if (next) {
      abortPoll('Conflict: terminated by setWebhook request');
      webhookState = {
        url: next.url,
        ...(next.secret_token ? { secret_token: next.secret_token } : {}),
        max_connections: next.max_connections ?? 40,
        setAt: Date.now(),
      };
      for (const q of queue) q.failCount = 0;
      kickWebhook();
    } else webhookState = null;
  };

  const kickWebhook = (): void => {
    if (!webhookState || delivering || retryTimer || isDown || closing || queue.length === 0) return;
    void deliver(queue[0]!);
  };

  const postUpdate = (
    url: string,
    body: string,
    secret: string | undefined,
  ): Promise<{ status: number; statusText: string; headers: http.IncomingHttpHeaders; body: string } | { error: string }> =>
    new Promise((resolve) => {
      const u = new URL(url);
      const headers: Record<string, string | number> = {
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(body),
        'accept-encoding': 'gzip, deflate',
      };
      if (secret) headers['x-telegram-bot-api-secret-token'] = secret;
      if (u.username) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      const req = http.request(
        {
          host: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || 80,
          path: `${u.pathname}${u.search}`,
          method: 'POST',
          headers,
          agent: false,
          timeout: options.webhookTimeoutMs ?? 5000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            outgoing.delete(req);
            resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', () => {
            outgoing.delete(req);
            resolve({ error: 'Webhook connection closed' });
          });
        },
      );
      outgoing.add(req);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        outgoing.delete(req);
        resolve({ error: err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message === 'timeout' ? 'Read timeout expired' : 'Webhook connection closed' });
      });
      req.end(body);
    });

  const deliver = async (entry: QueuedUpdate): Promise<void> => {
    const hook = webhookState!;
    const generation = webhookGeneration;
    delivering = true;
    const attempt = entry.failCount + 1;
    const result = await postUpdate(hook.url, JSON.stringify({ update_id: entry.update_id, ...entry.update }), hook.secret_token);
    if (generation !== webhookGeneration || closing) return; // webhook changed or fake closing: this delivery no longer counts
    delivering = false;
    const at = Date.now();
    if (!('error' in result) && result.status >= 200 && result.status <= 299) {
      webhookDeliveries.push({ update_id: entry.update_id, attempt, status: result.status, at });
      const i = queue.indexOf(entry);
      if (i !== -1) {
        queue.splice(i, 1);
        confirmedUpTo = Math.max(confirmedUpTo, entry.update_id);
      }
      await webhookReply(result);
      kickWebhook();
      return;
    }
    const error = 'error' in result ? result.error : `Wrong response from the webhook: ${result.status} ${result.statusText}`;
    webhookDeliveries.push({ update_id: entry.update_id, attempt, status: 'error' in result ? 0 : result.status, error, at });
    lastWebhookError = { date: now(), message: error };
    const retryAfterHeader = 'error' in result ? undefined : Number(result.headers['retry-after']);
    const base = options.webhookRetryDelayMs ?? 100;
    const delay =
      retryAfterHeader !== undefined && retryAfterHeader > 0
        ? Math.min(retryAfterHeader, 3600) * 1000
        : entry.failCount === 0
          ? 0
          : Math.min(base * 2 ** entry.failCount, base * 120);
    entry.failCount++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      kickWebhook();
    }, delay);
  };

  /** A 2xx webhook answer may carry one method call ({"method":"sendMessage",...}); get*, setWebhook, deleteWebhook, close, logOut are ignored. */
  const webhookReply = async (res: { headers: http.IncomingHttpHeaders; body: string }): Promise<void> => {
    if (res.body.trim() === '') return;
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return;
    const { method, ...params } = body as Record<string, unknown>;
    if (typeof method !== 'string') return;
    const m = method.toLowerCase();
    if (m === '' || m === 'deletewebhook' || m === 'setwebhook' || m === 'close' || m === 'logout' || m.startsWith('get')) return;
    await execute(method, params, new Map(), 'webhook-reply', 'POST');
  };

  // ------------------------------------------------------------------------------------------
  // rate limits (sending methods)

  const checkRateLimit = (rec: ChatRecord): void => {
    const limits = fake.rateLimit;
    if (!limits) return;
    const t = Date.now();
    while (sendLog.length > 0 && sendLog[0]!.at < t - 60_000) sendLog.shift();
    const chatId = rec.chat.id as number;
    const group = rec.type !== 'private';
    const wait = (window: number, max: number | undefined, pred: (e: { chatId: number; group: boolean; at: number }) => boolean): number => {
      if (!max || max <= 0) return 0;
      const hits = sendLog.filter((e) => e.at > t - window && pred(e));
      if (hits.length < max) return 0;
      return Math.max(1, Math.ceil((hits[hits.length - max]!.at + window - t) / 1000));
    };
    const retryAfter = Math.max(
      wait(1000, limits.perChatPerSecond, (e) => e.chatId === chatId),
      group ? wait(60_000, limits.perGroupPerMinute, (e) => e.chatId === chatId) : 0,
      wait(1000, limits.globalPerSecond, () => true),
    );
    if (retryAfter > 0) throw tooManyRequests(retryAfter);
  };
  const countSend = (rec: ChatRecord): void => {
    sendLog.push({ chatId: rec.chat.id as number, group: rec.type !== 'private', at: Date.now() });
  };

  // ------------------------------------------------------------------------------------------
  // methods

  /** get_input_message_text + parseTextEntities: errors before the chat is even looked at. */
  const formatted = (params: Record<string, unknown>, field: 'text' | 'caption', entitiesField: 'entities' | 'caption_entities'): FormattedText => {
    const text = strParam(params, field);
    if (field === 'text' && text === '') throw badRequest('message text is empty');
    const mode = strParam(params, 'parse_mode');
    if (mode !== '' && !['html', 'markdown', 'markdownv2', 'none'].includes(mode.toLowerCase())) throw badRequest('unsupported parse_mode');
    const given = objParam(params, entitiesField);
    try {
      return parseEntities(text, mode.toLowerCase() === 'none' ? '' : mode, Array.isArray(given) ? (given as Entity[]) : undefined);
    } catch (err) {
      if (err instanceof EntityParseError) throw badRequest(`can't parse entities: ${err.message}`);
      throw err;
    }
  };

  const entityFields = (f: FormattedText, textField: 'text' | 'caption'): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (f.text !== '' || textField === 'text') out[textField] = f.text;
    if (f.entities.length > 0) out[textField === 'text' ? 'entities' : 'caption_entities'] = f.entities.map((e) => ({ ...e }));
    return out;
  };

  /** Common part of send*: reply target, thread, the stored outgoing Message. */
  const outgoingMessage = (
    rec: ChatRecord,
    params: Record<string, unknown>,
    content: Record<string, unknown>,
    checkContent: () => void = () => {},
  ): Record<string, unknown> => {
    const replyParams = objParam(params, 'reply_parameters') as { message_id?: unknown; allow_sending_without_reply?: unknown; chat_id?: unknown } | undefined;
    const replyTo = replyParams && typeof replyParams === 'object' ? Number(replyParams.message_id) : intParam(params, 'reply_to_message_id', 0);
    const allowWithout = replyParams && typeof replyParams === 'object' ? replyParams.allow_sending_without_reply === true : boolParam(params, 'allow_sending_without_reply');
    let replied: Record<string, unknown> | undefined;
    if (replyTo > 0) {
      replied = rec.messages.get(replyTo);
      if (!replied && !allowWithout) throw badRequest('message to be replied not found');
    }
    checkContent(); // TDLib's checks of the parsed text run when the message is actually sent
    checkRateLimit(rec);
    const message: Record<string, unknown> = { message_id: rec.nextMessageId++ };
    const thread = intParam(params, 'message_thread_id', 0);
    if (thread > 0 && rec.type === 'supergroup') {
      message.message_thread_id = thread;
      if (rec.chat.is_forum) message.is_topic_message = true;
    } else if (replied && typeof replied.message_thread_id === 'number') {
      message.message_thread_id = replied.message_thread_id;
      if (replied.is_topic_message) message.is_topic_message = true;
    }
    if (rec.type === 'channel') message.sender_chat = structuredClone(rec.chat);
    else message.from = { ...botUser };
    message.chat = structuredClone(rec.chat);
    message.date = now();
    if (replied) message.reply_to_message = shallow(replied);
    Object.assign(message, content);
    rec.messages.set(message.message_id as number, message);
    countSend(rec);
    const copy = structuredClone(message);
    sent.push(copy as unknown as Message);
    return structuredClone(message);
  };

  const inputFile = (params: Record<string, unknown>, field: string, files: Map<string, FilePart>, kind: 'photo' | 'document'): HostedFile & { fileName?: string; mimeType?: string } => {
    const v = params[field];
    let part: FilePart | undefined;
    if (typeof v === 'string' && v.startsWith('attach://')) part = files.get(v.slice(9));
    else if (typeof v !== 'string') part = files.get(field); // the file itself sent under the parameter's name
    if (part) {
      const hosted = addFile(part.data, { kind, fileName: part.filename });
      return { ...hosted, fileName: part.filename, mimeType: part.contentType };
    }
    const id = strParam(params, field).trim();
    if (id === '') throw badRequest(`there is no ${field} in the request`);
    const known = filesById.get(id);
    if (!known) throw badRequest('wrong file identifier/HTTP URL specified');
    const { data: _data, ...hosted } = known;
    return hosted;
  };

  const builtins: Record<string, (params: Record<string, unknown>, files: Map<string, FilePart>) => unknown | Promise<unknown>> = {
    getme: () => ({
      ...botUser,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),

    logout: () => true,
    close: () => true,

    getupdates: (params) => {
      if (webhookState) throw new TelegramApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      let offset = intParam(params, 'offset', 0);
      const limit = intParam(params, 'limit', 100, 1, 100);
      let timeout = intParam(params, 'timeout', 0, 0, LONG_POLL_MAX_TIMEOUT);
      applyAllowedUpdates(params);
      const repeat = options.repeatPollSeconds ?? 0;
      if (repeat > 0 && offset === previousPoll.offset && timeout < repeat && Date.now() < previousPoll.at + 3000) timeout = repeat;
      previousPoll = { offset, at: Date.now() };
      offset = normalizeOffset(offset);
      const batch = takeBatch(offset, limit);
      if (timeout === 0 || batch.length > 0) return batch;
      abortPoll('Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
      return new Promise((resolve, reject) => {
        const p: Poll = {
          offset,
          limit,
          wake: undefined,
          resolve,
          reject,
          timer: setTimeout(() => finishPoll(p, takeBatch(p.offset, p.limit)), timeout * 1000),
        };
        poll = p;
      });
    },

    setwebhook: (params) => {
      const url = strParam(params, 'url').trim();
      if (url === '') return builtins.deletewebhook!(params, new Map());
      const secret = strParam(params, 'secret_token');
      if (secret.length > 256) throw badRequest('secret token is too long');
      if (secret !== '' && !/^[A-Za-z0-9_-]+$/.test(secret)) throw badRequest('secret token contains unallowed characters');
      // process_set_webhook_query: at most one setWebhook with a URL per second
      if (Date.now() < lastSetWebhookAt + 1000) throw tooManyRequests(1);
      lastSetWebhookAt = Date.now();
      const maxConnections = intParam(params, 'max_connections', 40, 1, 100);
      const drop = boolParam(params, 'drop_pending_updates');
      if (
        webhookState &&
        webhookState.url === url &&
        (webhookState.secret_token ?? '') === secret &&
        webhookState.max_connections === maxConnections &&
        !drop
      ) {
        applyAllowedUpdates(params);
        return new Described(true, 'Webhook is already set');
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw badRequest('invalid webhook URL specified');
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badRequest('invalid webhook URL specified');
      if (!isLoopbackHost(parsed.hostname)) throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
      if (drop) {
        if (queue.length) confirmedUpTo = Math.max(confirmedUpTo, queue[queue.length - 1]!.update_id);
        queue.length = 0;
      }
      applyAllowedUpdates(params);
      setWebhookState({ url, ...(secret ? { secret_token: secret } : {}), max_connections: maxConnections });
      return new Described(true, 'Webhook was set');
    },

    deletewebhook: (params) => {
      const drop = boolParam(params, 'drop_pending_updates');
      if (drop) {
        if (queue.length) confirmedUpTo = Math.max(confirmedUpTo, queue[queue.length - 1]!.update_id);
        queue.length = 0;
      }
      if (!webhookState) return new Described(true, 'Webhook is already deleted');
      setWebhookState(null);
      return new Described(true, 'Webhook was deleted');
    },

    getwebhookinfo: () => webhookInfo(),

    sendmessage: (params) => {
      const f = formatted(params, 'text', 'entities');
      const rec = resolveChat(params);
      const content = entityFields(f, 'text');
      const lpo = objParam(params, 'link_preview_options');
      if (lpo && typeof lpo === 'object' && f.entities.some((e) => e.type === 'url' || e.type === 'text_link')) content.link_preview_options = lpo;
      return outgoingMessage(rec, params, content, () => {
        if (f.text === '') throw badRequest('message text is empty');
        if (utf16Length(f.text) > TEXT_LIMIT) throw badRequest('message is too long');
      });
    },

    sendphoto: (params, files) => {
      const f = formatted(params, 'caption', 'caption_entities');
      const rec = resolveChat(params);
      const file = inputFile(params, 'photo', files, 'photo');
      const photo = [{ file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size, width: 800, height: 600 }];
      return outgoingMessage(rec, params, { photo, ...(f.text ? entityFields(f, 'caption') : {}) }, () => {
        if (utf16Length(f.text) > CAPTION_LIMIT) throw badRequest('message caption is too long');
      });
    },

    senddocument: (params, files) => {
      const f = formatted(params, 'caption', 'caption_entities');
      const rec = resolveChat(params);
      const file = inputFile(params, 'document', files, 'document');
      const document: Record<string, unknown> = { file_name: file.fileName ?? file.file_path.split('/').pop(), mime_type: file.mimeType ?? 'application/octet-stream' };
      Object.assign(document, { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size });
      return outgoingMessage(rec, params, { document, ...(f.text ? entityFields(f, 'caption') : {}) }, () => {
        if (utf16Length(f.text) > CAPTION_LIMIT) throw badRequest('message caption is too long');
      });
    },

    editmessagetext: (params) => {
      const f = formatted(params, 'text', 'entities');
      if (strParam(params, 'chat_id') === '' && strParam(params, 'inline_message_id') === '') throw badRequest('message identifier is not specified');
      if (strParam(params, 'inline_message_id') !== '') throw badRequest('message to edit not found');
      const rec = resolveChat(params);
      const id = intParam(params, 'message_id', 0);
      const stored = rec.messages.get(id);
      if (!stored) throw badRequest('message to edit not found');
      const from = stored.from as { id?: number } | undefined;
      const ownChannelPost = rec.type === 'channel';
      if (!ownChannelPost && from?.id !== botUser.id) throw badRequest("message can't be edited");
      if (typeof stored.text !== 'string') throw badRequest('there is no text in the message to edit');
      if (f.text === '') throw badRequest('message text is empty');
      if (utf16Length(f.text) > TEXT_LIMIT) throw badRequest('message is too long');
      const markup = objParam(params, 'reply_markup');
      const sameEntities = JSON.stringify(stored.entities ?? []) === JSON.stringify(f.entities);
      const sameMarkup = JSON.stringify(stored.reply_markup ?? null) === JSON.stringify(markup ?? null);
      if (stored.text === f.text && sameEntities && sameMarkup) {
        throw badRequest(
          'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
        );
      }
      checkRateLimit(rec);
      delete stored.entities;
      Object.assign(stored, entityFields(f, 'text'), { edit_date: now() });
      if (markup && typeof markup === 'object') stored.reply_markup = markup;
      countSend(rec);
      sent.push(structuredClone(stored) as unknown as Message);
      return structuredClone(stored);
    },

    deletemessage: (params) => {
      const rec = resolveChat(params);
      const id = intParam(params, 'message_id', 0);
      if (!rec.messages.has(id)) throw badRequest('message to delete not found');
      rec.messages.delete(id);
      return true;
    },

    sendchataction: (params) => {
      const action = strParam(params, 'action').toLowerCase();
      const rec = resolveChat(params);
      if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
      const thread = intParam(params, 'message_thread_id', 0);
      chatActions.push({ chat_id: rec.chat.id as number, action, ...(thread > 0 ? { message_thread_id: thread } : {}) });
      return true;
    },

    getfile: (params) => {
      const id = strParam(params, 'file_id').trim();
      if (id === '') throw badRequest('file_id not specified');
      const file = filesById.get(id);
      if (!file) throw badRequest('invalid file_id');
      if (file.file_size > MAX_DOWNLOAD_SIZE) throw badRequest('file is too big');
      return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size, file_path: file.file_path };
    },

    setmycommands: (params) => {
      const commands = objParam(params, 'commands');
      if (!Array.isArray(commands)) throw badRequest('commands must be an array');
      for (const c of commands) {
        const cmd = c && typeof c === 'object' ? (c as { command?: unknown; description?: unknown }) : {};
        const name = typeof cmd.command === 'string' ? cmd.command.replace(/^\//, '') : '';
        if (!/^[a-z0-9_]{1,32}$/.test(name)) throw badRequest('BOT_COMMAND_INVALID');
        const description = typeof cmd.description === 'string' ? cmd.description.trim() : '';
        if (description.length < 1 || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      }
      return true;
    },
    deletemycommands: () => true,
    getmycommands: () => [],
  };

  /** Runs one API method (over HTTP or from a webhook reply); answers { status, body, retryAfter? } or NO_RESPONSE. */
  const execute = async (
    method: string,
    params: Record<string, unknown>,
    files: Map<string, FilePart>,
    via: 'http' | 'webhook-reply',
    httpMethod: string,
    onGone?: (cancel: () => void) => void,
  ): Promise<{ status: number; body: Record<string, unknown>; retryAfter?: number } | typeof NO_RESPONSE> => {
    const record: RecordedRequest = { method, params, at: Date.now(), httpMethod, token, status: 0, response: undefined, via };
    requests.push(record);
    const lower = method.toLowerCase();
    const answer = (status: number, body: Record<string, unknown>, retryAfter?: number) => {
      record.status = status;
      record.response = body;
      return { status, body, ...(retryAfter !== undefined ? { retryAfter } : {}) };
    };
    const fail = (err: TelegramApiError) => {
      const retryAfter = typeof err.parameters?.retry_after === 'number' ? err.parameters.retry_after : undefined;
      const body: Record<string, unknown> = { ok: false, error_code: err.error_code, description: err.description };
      if (err.parameters && Object.keys(err.parameters).length > 0) body.parameters = err.parameters;
      return answer(err.error_code, body, retryAfter);
    };

    const queued = failures.get(lower) ?? failures.get('*');
    if (queued && queued.length > 0) {
      const f = queued[0]!;
      if (--f.left <= 0) queued.shift();
      let retryAfter = f.spec.retry_after;
      if (retryAfter === undefined && f.spec.error_code === 429) {
        const m = /retry after (\d+)/.exec(f.spec.description);
        if (m) retryAfter = Number(m[1]);
      }
      const parameters = { ...f.spec.parameters, ...(retryAfter !== undefined ? { retry_after: retryAfter } : {}) };
      return fail(new TelegramApiError(f.spec.error_code, f.spec.description, parameters));
    }

    const handler = custom.get(lower);
    const builtin = builtins[lower];
    if (!handler && !builtin) return fail(new TelegramApiError(404, 'Not Found'));
    try {
      const pending = handler ? handler(params, { fake, files, via }) : builtin!(params, files);
      const mine = poll; // the builtin getUpdates registers its long poll synchronously
      if (!handler && lower === 'getupdates' && pending instanceof Promise && onGone && mine) {
        // the client went away: end this long poll without an answer
        onGone(() => {
          if (poll === mine) finishPoll(mine, NO_RESPONSE);
        });
      }
      const result = await pending;
      if (result === NO_RESPONSE) {
        record.status = 0;
        return NO_RESPONSE;
      }
      if (result instanceof Described) return answer(200, { ok: true, result: result.result, description: result.description });
      return answer(200, { ok: true, result });
    } catch (err) {
      if (err instanceof TelegramApiError) return fail(err);
      return fail(new TelegramApiError(500, `Internal Server Error: ${err instanceof Error ? err.message : String(err)}`));
    }
  };

  // ------------------------------------------------------------------------------------------
  // HTTP

  const writeJson = (res: http.ServerResponse, status: number, body: unknown, retryAfter?: number): void => {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), connection: 'keep-alive' };
    if (retryAfter !== undefined && retryAfter > 0) headers['retry-after'] = retryAfter;
    res.writeHead(status, headers);
    res.end(text);
  };
  const notFound = (res: http.ServerResponse): void => writeJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });

  const readParams = (req: http.IncomingMessage, body: Buffer, query: URLSearchParams): { params: Record<string, unknown>; files: Map<string, FilePart> } | TelegramApiError => {
    const params: Record<string, unknown> = {};
    for (const [k, v] of query) params[k] = v;
    let files = new Map<string, FilePart>();
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (body.length > 0) {
      if (type.startsWith('application/json')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          return badRequest("can't parse JSON object");
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return badRequest("can't parse JSON object");
        Object.assign(params, parsed);
      } else if (type.startsWith('multipart/form-data')) {
        const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
        const b = boundary?.[1] ?? boundary?.[2];
        if (b) {
          const parsed = parseMultipart(body, b);
          Object.assign(params, parsed.fields);
          files = parsed.files;
        }
      } else if (type.startsWith('application/x-www-form-urlencoded') || type === '') {
        for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
      }
    }
    for (const k of Object.keys(params)) {
      if (JSON_PARAMS.has(k) && typeof params[k] === 'string') {
        const v = objParam(params, k);
        if (v !== undefined) params[k] = v;
      }
    }
    for (const [name, part] of files) {
      if (!(name in params)) params[name] = { filename: part.filename, contentType: part.contentType, size: part.data.length };
    }
    return { params, files };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleRequest(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) writeJson(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    if (isDown || closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const handleRequest = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = u.pathname;

    if (path.startsWith('/file/bot')) {
      const rest = path.slice('/file/bot'.length);
      const slash = rest.indexOf('/');
      const fileToken = slash === -1 ? rest : rest.slice(0, slash);
      const filePath = slash === -1 ? '' : decodeURIComponent(rest.slice(slash + 1));
      const file = fileToken === token ? filesByPath.get(filePath) : undefined;
      if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
        downloads.push({ path: filePath, status: 404 });
        notFound(res);
        return;
      }
      downloads.push({ path: filePath, status: 200 });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length, connection: 'keep-alive' });
      res.end(req.method === 'HEAD' ? undefined : file.data);
      return;
    }

    if (!path.startsWith('/bot')) return notFound(res);
    const rest = path.slice(4);
    const slash = rest.indexOf('/');
    if (slash === -1) return notFound(res);
    const reqToken = decodeURIComponent(rest.slice(0, slash));
    let method = rest.slice(slash + 1);
    if (method.startsWith('test/')) method = method.slice(5);
    const parsed = readParams(req, body, u.searchParams);
    if (parsed instanceof TelegramApiError) return writeJson(res, 400, { ok: false, error_code: 400, description: parsed.description });
    const { params, files } = parsed;
    if (method === '') method = strParam(params, 'method');

    // ClientManager::send: token format, then the bot behind it
    const idPart = reqToken.slice(0, reqToken.indexOf(':'));
    const malformed = reqToken[0] === '0' || reqToken.length > 80 || !reqToken.includes(':') || !/^\d+$/.test(idPart) || Number(idPart) <= 0;
    if (malformed || reqToken !== token) {
      const description = malformed ? 'Unauthorized: invalid token specified' : 'Unauthorized';
      const response = { ok: false, error_code: 401, description };
      requests.push({ method, params, at: Date.now(), httpMethod: req.method ?? 'GET', token: reqToken, status: 401, response, via: 'http' });
      return writeJson(res, 401, response);
    }

    const out = await execute(method, params, files, 'http', req.method ?? 'GET', (cancel) => {
      // req's 'close' fires as soon as the body is read in current Node; the response's 'close' is the
      // one that tells us the client went away (or the socket was destroyed).
      if (res.destroyed || !res.socket || res.socket.destroyed) return cancel();
      res.on('close', () => {
        if (!res.writableFinished) cancel();
      });
    });
    if (out === NO_RESPONSE) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    writeJson(res, out.status, out.body, out.retryAfter);
  };

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  const cutEverything = (): void => {
    if (poll) finishPoll(poll, NO_RESPONSE);
    for (const r of outgoing) r.destroy();
    outgoing.clear();
    delivering = false;
    webhookGeneration++;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    sockets.clear();
  };

  const up = async (): Promise<void> => {
    if (downTimer) clearTimeout(downTimer);
    downTimer = undefined;
    if (!isDown || closing) return;
    await listen(port);
    isDown = false;
    kickWebhook();
  };

  const down = async (ms?: number): Promise<void> => {
    if (closing) return;
    if (!isDown) {
      isDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutEverything();
      await closed;
    }
    if (downTimer) clearTimeout(downTimer);
    downTimer = undefined;
    if (ms !== undefined) {
      downTimer = setTimeout(() => {
        downTimer = undefined;
        up().catch(() => {}); // the port was taken meanwhile: stay down
      }, ms);
    }
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      if (downTimer) clearTimeout(downTimer);
      downTimer = undefined;
      if (isDown) {
        cutEverything();
        resolve();
        return;
      }
      server.close(() => resolve());
      cutEverything();
    });
    return closed;
  };

  const fake: FakeTelegram = {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    bot: { id: botUser.id, username: botUser.username, first_name: botUser.first_name },
    options,
    requests,
    sent,
    chatActions,
    downloads,
    webhookDeliveries,
    get webhook() {
      return webhookState ? { url: webhookState.url, ...(webhookState.secret_token ? { secret_token: webhookState.secret_token } : {}) } : null;
    },
    set webhook(value) {
      setWebhookState(value ? { url: value.url, ...(value.secret_token ? { secret_token: value.secret_token } : {}) } : null);
    },
    get allowedUpdates() {
      return [...(allowed ?? DEFAULT_ALLOWED_UPDATES)];
    },
    get confirmedUpTo() {
      return confirmedUpTo;
    },
    pendingUpdates: () => queue.map((q) => ({ update_id: q.update_id, ...structuredClone(q.update) }) as unknown as Update),
    pushUpdate,
    textMessage: (o) => {
      const content: Record<string, unknown> = { text: o.text };
      const entities = o.entities ?? findAutoEntities(o.text);
      if (entities.length > 0) content.entities = structuredClone(entities);
      return inbound(o, content);
    },
    photoMessage: (o) => {
      const bytes = o.bytes ?? Buffer.from(createHash('sha256').update(`photo-${fileCounter}`).digest());
      const width = o.width ?? 1280;
      const height = o.height ?? 960;
      const scale = (max: number) => (width >= height ? { width: max, height: Math.round((height * max) / width) } : { width: Math.round((width * max) / height), height: max });
      const thumb = addFile(bytes.subarray(0, Math.min(bytes.length, 1024)), { kind: 'photo' });
      const full = addFile(bytes, { kind: 'photo' });
      const photo = [
        { file_id: thumb.file_id, file_unique_id: thumb.file_unique_id, file_size: thumb.file_size, ...scale(90) },
        { file_id: full.file_id, file_unique_id: full.file_unique_id, file_size: full.file_size, width, height },
      ];
      const content: Record<string, unknown> = { photo };
      if (o.caption !== undefined) {
        content.caption = o.caption;
        const entities = findAutoEntities(o.caption);
        if (entities.length > 0) content.caption_entities = entities;
      }
      return inbound(o, content);
    },
    documentMessage: (o) => {
      const bytes = o.bytes ?? Buffer.from('hello from a document\n');
      const fileName = o.fileName ?? 'document.txt';
      const file = addFile(bytes, { kind: 'document', fileName });
      const content: Record<string, unknown> = {
        document: { file_name: fileName, mime_type: o.mimeType ?? 'text/plain', file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size },
      };
      if (o.caption !== undefined) {
        content.caption = o.caption;
        const entities = findAutoEntities(o.caption);
        if (entities.length > 0) content.caption_entities = entities;
      }
      return inbound(o, content);
    },
    addChat: (c) => {
      const rec = chatRecord(c.id, c.type, {
        ...(c.title !== undefined ? { title: c.title } : {}),
        ...(c.username !== undefined ? { username: c.username } : {}),
        ...(c.first_name !== undefined ? { first_name: c.first_name } : {}),
        ...(c.is_forum !== undefined ? { is_forum: c.is_forum } : {}),
      });
      if (c.blocked !== undefined) rec.blocked = c.blocked;
      return structuredClone(rec.chat);
    },
    message: (chatId, messageId) => {
      const m = chats.get(chatId)?.messages.get(messageId);
      return m ? (structuredClone(m) as unknown as Message) : undefined;
    },
    addFile,
    failNext: (method, error, times = 1) => {
      const key = method === '*' ? '*' : method.toLowerCase();
      const list = failures.get(key) ?? [];
      list.push({ spec: { ...error }, left: times });
      failures.set(key, list);
    },
    handle: (method, fn) => {
      custom.set(method.toLowerCase(), fn);
    },
    down,
    up,
    close,
  };
  return fake;
}

// =============================================================================================
// Standalone: `node test/fakes/telegram.ts [--port N] [--token T] [--username NAME]` prints one line
// {"apiRoot":...,"token":...} and runs until SIGTERM/SIGINT.

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, token: { type: 'string' }, username: { type: 'string' } } });
  startFakeTelegram({
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.token !== undefined ? { token: values.token } : {}),
    ...(values.username !== undefined ? { botUsername: values.username } : {}),
  })
    .then((fake) => {
      process.stdout.write(`${JSON.stringify({ apiRoot: fake.apiRoot, token: fake.token })}\n`);
      const stop = (): void => {
        void fake.close();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
