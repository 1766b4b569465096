// Telegram through grammY: long polling (default) or a webhook on the gateway's HTTP server. Only
// translation lives here; routing, retries and durability are the gateway's.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bot } from 'grammy';
import type { TelegramAdapterConfig } from '../../core/config/types.ts';
import { AdapterError } from '../../core/errors.ts';
import { Secret } from '../../core/http/auth.ts';
import { HttpError, readJson, sendJson, type HttpGateway } from '../../core/http/server.ts';
import type { Logger } from '../../core/log.ts';
import type { DeliveryReceipt, InboundMessage, OutboundMessage } from '../../core/types.ts';
import type { Adapter, AdapterHealth, AdapterHost, ReplyStream, SendContext, Typing } from '../contract.ts';
import { renderMessages, renderMessagesWithPlain } from '../format/index.ts';
import { readCapped } from '../download.ts';
import { Pacer } from '../pacer.ts';
import { throttledPreview } from '../preview.ts';
import { isEntityError, toAdapterError } from './errors.ts';
import { messageIdInChat, toInbound, type TgMessage } from './translate.ts';

export const WEBHOOK_PATH = '/telegram/webhook';
/** grammY types signals with the abort-controller polyfill's class; Node's own is what it gets at run time. */
type GrammySignal = Parameters<Bot['init']>[0];
const gs = (s: AbortSignal | undefined) => s as unknown as GrammySignal;
/** Telegram's limit, in UTF-16 code units of the text after entity parsing. */
const MAX_TEXT = 4096;
/** A chat action shows for 5 s; repeat a little sooner while the model works. */
const TYPING_EVERY_MS = 4500;
/** getMe at start must answer within this (grammY itself would wait forever). */
const START_TIMEOUT_MS = 15_000;
/** Telegram lets a bot edit a message about once a second per chat. */
const EDIT_EVERY_MS = 1200;
/** Polling with no successful getUpdates for this long is wedged: restart it. */
const WEDGED_MS = 120_000;
/** Calls whose failure is the connection's (an adapter error); a send's failure is its delivery's. */
const CONNECTION_METHODS = new Set(['getMe', 'getUpdates', 'deleteWebhook', 'setWebhook']);
/** A message that could not be recorded is tried again after this, doubling up to a minute. */
const RECORD_RETRY_MS = 1000;
const RECORD_RETRY_MAX_MS = 60_000;

export class TelegramAdapter implements Adapter {
  readonly platform = 'telegram';
  readonly limits = { maxTextLength: MAX_TEXT };
  readonly #cfg: TelegramAdapterConfig;
  readonly #http: HttpGateway;
  readonly #log: Logger;
  // Telegram's documented limits: ~30 messages/s overall, 1/s per chat, 20/min per group.
  readonly #pacer = new Pacer({
    global: { limit: 30, windowMs: 1000 },
    perChat: { limit: 1, windowMs: 1000 },
    perGroup: { limit: 20, windowMs: 60_000 },
  });
  #bot: Bot | undefined;
  #host: AdapterHost | undefined;
  #lastEventAt: number | null = null;
  #lastPollAt = 0;
  #lastError: string | null = null;
  #running = false;
  #stopping = false;
  #watchdog: NodeJS.Timeout | undefined;
  /** A message being recorded again after a failed write: polling waits on it (see #recordPolled). */
  #retrying: Promise<void> | undefined;
  /** Ends a retry's wait at shutdown. */
  readonly #quit = new AbortController();
  readonly #retryMs: number;

  /** When polling counts as wedged, and how often that is checked (tests shorten both). */
  readonly #wedgedMs: number;
  readonly #checkEveryMs: number;

  constructor(opts: { config: TelegramAdapterConfig; http: HttpGateway; log: Logger; watchdog?: { wedgedMs: number; checkEveryMs: number }; recordRetryMs?: number }) {
    this.#retryMs = opts.recordRetryMs ?? RECORD_RETRY_MS;
    this.#wedgedMs = opts.watchdog?.wedgedMs ?? WEDGED_MS;
    this.#checkEveryMs = opts.watchdog?.checkEveryMs ?? 10_000;
    this.#cfg = opts.config;
    this.#http = opts.http;
    this.#log = opts.log.child({ adapter: 'telegram' });
  }

  get bot(): Bot | undefined {
    return this.#bot;
  }

  async start(host: AdapterHost, signal: AbortSignal): Promise<void> {
    if (!this.#cfg.token) throw new AdapterError('telegram', 'auth', 'adapters.telegram.token is empty (set TELEGRAM_BOT_TOKEN)');
    this.#host = host;
    const { Bot } = await import('grammy');
    const bot = new Bot(this.#cfg.token, { client: { apiRoot: this.#cfg.apiRoot } });
    this.#bot = bot;
    // Health: every successful getUpdates proves the connection; every failure is the last error.
    bot.api.config.use(async (prev, method, payload, sig) => {
      try {
        const res = await prev(method, payload, sig);
        if (method === 'getUpdates') this.#lastPollAt = Date.now();
        return res;
      } catch (err) {
        this.#lastError = `${method}: ${(err as Error).message}`;
        if (CONNECTION_METHODS.has(method) && !this.#stopping) this.#host?.failed();
        throw err;
      }
    });
    const init = AbortSignal.any([signal, AbortSignal.timeout(START_TIMEOUT_MS)]);
    try {
      await bot.init(gs(init));
    } catch (err) {
      throw toAdapterError(err);
    }
    const me = bot.botInfo;
    bot.on(['message', 'edited_message'], (ctx) => this.#onMessage((ctx.message ?? ctx.editedMessage) as unknown as TgMessage));
    bot.catch((e) => {
      // Not recorded because the gateway is shutting down: end polling here, so grammY never confirms
      // this update's offset (bot.stop() would) and Telegram hands it over again after the restart.
      if (e.error instanceof AdapterError && e.error.kind === 'unavailable') {
        this.#stopping = true;
        throw e;
      }
      this.#lastError = e.message;
      this.#host?.failed();
      this.#log.error({ err: e.error }, 'telegram update handler failed');
    });
    if (this.#cfg.mode === 'webhook') await this.#startWebhook(bot);
    else this.#startPolling(bot);
    signal.addEventListener('abort', () => void this.#stop(), { once: true });
    this.#log.info({ bot: `@${me.username}`, id: me.id, mode: this.#cfg.mode }, 'telegram connected');
  }

  async verify(signal: AbortSignal): Promise<string> {
    const { Bot } = await import('grammy');
    const bot = new Bot(this.#cfg.token, { client: { apiRoot: this.#cfg.apiRoot } });
    try {
      await bot.init(gs(signal));
    } catch (err) {
      throw toAdapterError(err);
    }
    return `@${bot.botInfo.username} (id ${bot.botInfo.id})`;
  }

  async send(m: OutboundMessage, ctx: SendContext): Promise<DeliveryReceipt> {
    const bot = this.#bot;
    if (!bot) throw new AdapterError('telegram', 'unavailable', 'not started');
    // Each HTML part comes with the same text as plain, cut at the same places, for the fallback below.
    const parts = renderMessagesWithPlain(m.text, { markup: 'telegram-html', limit: MAX_TEXT, unit: 'utf16' });
    const ids: string[] = [];
    const chatType = m.chatId.startsWith('-') ? 'group' : 'dm';
    for (let i = ctx.partsSent; i < parts.length; i++) {
      await this.#pacer.acquire(m.chatId, chatType, ctx.signal);
      const other = {
        parse_mode: 'HTML' as const,
        ...(m.threadId ? { message_thread_id: Number(m.threadId) } : {}),
        // The first part answers the question; it still goes out if that message was deleted.
        ...(i === 0 && m.inReplyTo !== undefined ? { reply_parameters: { message_id: messageIdInChat(m.inReplyTo), allow_sending_without_reply: true } } : {}),
      };
      let sent;
      // The first part replaces a streamed preview when there is one.
      if (i === 0 && m.editOf !== undefined && (await this.#replacePreview(bot, m, parts[0]!, ctx.signal))) {
        ids.push(m.editOf);
        ctx.onPart(1, m.editOf);
        continue;
      }
      try {
        sent = await bot.api.sendMessage(m.chatId, parts[i]!.text, other, gs(ctx.signal));
      } catch (err) {
        if (!isEntityError(err)) throw toAdapterError(err);
        // Our HTML was refused: the same part as plain text rather than nothing.
        this.#log.warn({ err: (err as Error).message }, 'telegram refused the formatted text; sending it plain');
        const { parse_mode: _html, ...rest } = other;
        sent = await bot.api.sendMessage(m.chatId, parts[i]!.plain, rest, gs(ctx.signal)).catch((e: unknown) => { throw toAdapterError(e); });
      }
      ids.push(String(sent.message_id));
      ctx.onPart(i + 1, String(sent.message_id));
    }
    return { platformMessageIds: ids, sentAt: Date.now() };
  }

  startStream(message: InboundMessage): ReplyStream | undefined {
    const bot = this.#bot;
    if (!this.#cfg.stream || !bot) return undefined;
    const thread = message.threadId ? { message_thread_id: Number(message.threadId) } : {};
    return throttledPreview({
      everyMs: EDIT_EVERY_MS,
      render: (t) => `${renderMessages(t, { markup: 'plain', limit: MAX_TEXT - 2, unit: 'utf16' })[0] ?? ''} …`,
      // Through the pacer like every send, so the final reply that replaces the preview keeps the pace too.
      post: async (t) => {
        await this.#pacer.acquire(message.chat.id, message.chat.type);
        const r = await bot.api.sendMessage(message.chat.id, t, {
          ...thread,
          reply_parameters: { message_id: messageIdInChat(message.id), allow_sending_without_reply: true },
        });
        return String(r.message_id);
      },
      edit: async (id, t) => {
        await this.#pacer.acquire(message.chat.id, message.chat.type);
        await bot.api.editMessageText(message.chat.id, Number(id), t);
      },
      log: this.#log,
    });
  }

  /** Edits the preview into the final first part; false when the preview is gone (then it is sent anew). */
  async #replacePreview(bot: Bot, m: OutboundMessage, part: { text: string; plain: string }, signal: AbortSignal): Promise<boolean> {
    const edit = (text: string, html: boolean) => bot.api.editMessageText(m.chatId, Number(m.editOf), text, html ? { parse_mode: 'HTML' } : {}, gs(signal));
    try {
      await edit(part.text, true);
      return true;
    } catch (err) {
      const d = (err as { description?: string }).description ?? '';
      if (/message is not modified/i.test(d)) return true;
      if (/message to edit not found|message can't be edited/i.test(d)) return false;
      if (!isEntityError(err)) throw toAdapterError(err);
      await edit(part.plain, false).catch((e: unknown) => { throw toAdapterError(e); });
      return true;
    }
  }

  startTyping(message: InboundMessage): Typing {
    const bot = this.#bot;
    const thread = message.threadId ? { message_thread_id: Number(message.threadId) } : {};
    const tick = () => void bot?.api.sendChatAction(message.chat.id, 'typing', thread).catch((err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'sendChatAction failed');
    });
    tick();
    const timer = setInterval(tick, TYPING_EVERY_MS);
    return { stop: () => clearInterval(timer) };
  }

  health(): AdapterHealth {
    const polling = this.#cfg.mode === 'polling';
    const fresh = polling ? this.#running && Date.now() - this.#lastPollAt < this.#wedgedMs : this.#running;
    const detail = this.#bot?.isInited() ? `@${this.#bot.botInfo.username}, ${this.#cfg.mode}` : 'not started';
    return { connected: fresh, lastEventAt: this.#lastEventAt, lastError: this.#lastError, detail };
  }

  /** Downloads an attachment through getFile, refusing anything larger than `maxBytes`. */
  async download(ref: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const bot = this.#bot;
    if (!bot) throw new AdapterError('telegram', 'unavailable', 'not started');
    const file = await bot.api.getFile(ref, gs(signal)).catch((e: unknown) => { throw toAdapterError(e); });
    if (file.file_size !== undefined && file.file_size > maxBytes) throw new AdapterError('telegram', 'rejected', `file is ${file.file_size} bytes; the limit is ${maxBytes}`);
    if (!file.file_path) throw new AdapterError('telegram', 'rejected', 'Telegram gave no file_path (file too big for the Bot API?)');
    const res = await fetch(`${this.#cfg.apiRoot}/file/bot${this.#cfg.token}/${file.file_path}`, signal ? { signal } : {});
    if (!res.ok || !res.body) throw new AdapterError('telegram', 'network', `file download answered ${res.status}`);
    return readCapped('telegram', res.body as AsyncIterable<Uint8Array>, maxBytes);
  }

  #onMessage(m: TgMessage): Promise<void> | void {
    this.#lastEventAt = Date.now();
    const bot = this.#bot!;
    const inbound = toInbound(m, {
      botId: bot.botInfo.id,
      botUsername: bot.botInfo.username,
      allowUsers: this.#cfg.allowUsers,
      allowChats: this.#cfg.allowChats,
      groupMode: this.#cfg.groupMode,
    });
    if ('skip' in inbound) {
      this.#log.debug({ chat: m.chat.id, reason: inbound.skip }, 'update ignored');
      return;
    }
    // Awaited until the message is recorded, not until it is answered: grammY confirms the polling
    // offset (or answers the webhook) after this handler, and from then on the inbox holds it.
    const submit = () => this.#host!.submit(inbound).then((s) => {
      if (!s.duplicate) s.outcome.catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'turn not finished'));
    });
    // A webhook that fails is answered with an error and Telegram sends the update again itself.
    return this.#cfg.mode === 'polling' ? this.#recordPolled(submit) : submit();
  }

  /**
   * Polling confirms an update when its handler returns (the next getUpdates' offset), so a message
   * that could not be recorded (a full disk, a database locked too long) is tried again while polling
   * waits: nothing unrecorded is confirmed, and what follows it keeps its order. Shutting down ends the
   * wait unconfirmed (bot.catch).
   */
  async #recordPolled(submit: () => Promise<void>): Promise<void> {
    for (let wait = this.#retryMs; ; wait = Math.min(wait * 2, RECORD_RETRY_MAX_MS)) {
      const attempt = submit();
      try {
        return await attempt;
      } catch (err) {
        if (this.#stopping || (err instanceof AdapterError && err.kind === 'unavailable')) throw err;
        this.#lastError = `a message could not be recorded: ${(err as Error).message}`;
        this.#log.error({ err: (err as Error).message, retryInMs: wait }, 'telegram: a message could not be recorded; it stays unconfirmed and is tried again');
      }
      // Polling waits here on purpose: not wedged.
      this.#lastPollAt = Date.now() + wait;
      // Ended early (rejected) by the shutdown's abort: #stopping below says so.
      const slept = sleep(wait, undefined, { signal: this.#quit.signal }).catch(() => undefined);
      this.#retrying = slept;
      await slept.finally(() => { this.#retrying = undefined; });
      if (this.#stopping) throw new AdapterError('telegram', 'unavailable', 'shutting down');
    }
  }

  #startPolling(bot: Bot): void {
    this.#lastPollAt = Date.now();
    let restarting = false;
    const run = () => {
      this.#running = true;
      restarting = false;
      bot.start({ allowed_updates: ['message', 'edited_message'] }).catch((err: unknown) => {
        // stop() (shutdown, or the watchdog's restart) cuts a pending poll short: expected.
        if (this.#stopping || restarting) return;
        this.#running = false;
        this.#lastError = (err as Error).message;
        this.#host?.failed();
        this.#log.error({ err: (err as Error).message }, 'telegram polling stopped');
      });
    };
    run();
    // grammY retries network errors forever and quietly; if no poll succeeds for a while, restart.
    this.#watchdog = setInterval(() => {
      if (!this.#running || Date.now() - this.#lastPollAt < this.#wedgedMs) return;
      this.#log.warn({ sinceMs: Date.now() - this.#lastPollAt, lastError: this.#lastError }, 'telegram polling wedged; restarting it');
      this.#lastPollAt = Date.now();
      restarting = true;
      void bot.stop().catch(() => undefined).finally(run);
    }, this.#checkEveryMs);
    this.#watchdog.unref();
  }

  async #startWebhook(bot: Bot): Promise<void> {
    const secret = new Secret(this.#cfg.webhookSecret ?? '');
    this.#http.route('POST', WEBHOOK_PATH, async ({ req, res }) => {
      if (!secret.matches(req.headers['x-telegram-bot-api-secret-token'])) throw new HttpError(401, 'wrong or missing X-Telegram-Bot-Api-Secret-Token');
      const update = await readJson(req, 1024 * 1024);
      if (typeof update !== 'object' || update === null || typeof (update as { update_id?: unknown }).update_id !== 'number') {
        throw new HttpError(400, 'expected a Telegram Update');
      }
      await bot.handleUpdate(update as Parameters<Bot['handleUpdate']>[0]);
      sendJson(res, 200, { ok: true });
    }, { auth: false });
    try {
      await bot.api.setWebhook(this.#cfg.webhookUrl!, {
        secret_token: this.#cfg.webhookSecret!,
        allowed_updates: ['message', 'edited_message'],
      });
    } catch (err) {
      throw toAdapterError(err);
    }
    this.#running = true;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#watchdog);
    const bot = this.#bot;
    if (this.#retrying) {
      // bot.stop() would confirm the update that waits to be recorded: end the wait first, and let
      // grammY's loop end on it (after its own continuations, which setImmediate follows).
      this.#quit.abort();
      await this.#retrying;
      await new Promise((r) => setImmediate(r));
    }
    if (this.#cfg.mode === 'polling' && bot?.isRunning()) await bot.stop().catch(() => undefined);
    this.#running = false;
  }
}
