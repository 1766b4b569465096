// Slack: Socket Mode (default; @slack/socket-mode, the client inside Bolt) or the Events API on the
// gateway's HTTP server (signatures checked with Bolt's verifySlackRequest). Web API calls go through
// Bolt's WebClient. We take events from the socket client directly rather than through Bolt's App:
// the App acknowledges an event before its listeners run, and we acknowledge only once the message
// is in the durable inbox.
import type { SocketModeClient } from '@slack/socket-mode';
import type { webApi } from '@slack/bolt';
import type { SlackAdapterConfig } from '../../core/config/types.ts';
import { AdapterError } from '../../core/errors.ts';
import { HttpError, readBody, sendJson, type HttpGateway } from '../../core/http/server.ts';
import type { Logger } from '../../core/log.ts';
import type { DeliveryReceipt, InboundMessage, OutboundMessage } from '../../core/types.ts';
import type { Adapter, AdapterHealth, AdapterHost, ReplyStream, SendContext, Typing } from '../contract.ts';
import { readCapped } from '../download.ts';
import { renderMessages } from '../format/index.ts';
import { throttledPreview } from '../preview.ts';
import { toAdapterError } from './errors.ts';
import { toInbound, type SlackEvent } from './translate.ts';

/** Slack accepts 40,000 characters but shows long texts poorly; 4,000 is its own recommendation. */
const MAX_TEXT = 4000;
const TYPING_REACTION = 'eyes';
/** chat.update is a Tier 3 method (~50/min): one update a second per reply is well inside it. */
const EDIT_EVERY_MS = 1200;

interface Identity { readonly userId: string; readonly botId: string; readonly name: string; readonly team: string }

export class SlackAdapter implements Adapter {
  readonly platform = 'slack';
  readonly limits = { maxTextLength: MAX_TEXT };
  readonly #cfg: SlackAdapterConfig;
  readonly #http: HttpGateway;
  readonly #log: Logger;
  #web: webApi.WebClient | undefined;
  #socket: SocketModeClient | undefined;
  #me: Identity | undefined;
  #host: AdapterHost | undefined;
  #connected = false;
  #lastEventAt: number | null = null;
  #lastError: string | null = null;

  constructor(opts: { config: SlackAdapterConfig; http: HttpGateway; log: Logger }) {
    this.#cfg = opts.config;
    this.#http = opts.http;
    this.#log = opts.log.child({ adapter: 'slack' });
  }

  async verify(signal: AbortSignal): Promise<string> {
    const me = await this.#identity(await this.#client(), signal);
    return `@${me.name} (${me.userId}) in ${me.team}`;
  }

  async start(host: AdapterHost, signal: AbortSignal): Promise<void> {
    if (!this.#cfg.botToken) throw new AdapterError('slack', 'auth', 'adapters.slack.bot_token is empty (set SLACK_BOT_TOKEN)');
    this.#host = host;
    const web = await this.#client();
    this.#me = await this.#identity(web, AbortSignal.any([signal, AbortSignal.timeout(15_000)]));
    if (this.#cfg.mode === 'events') this.#startEvents();
    else await this.#startSocket(signal);
    signal.addEventListener('abort', () => void this.#socket?.disconnect().catch(() => undefined), { once: true });
    this.#log.info({ bot: this.#me.name, user: this.#me.userId, mode: this.#cfg.mode }, 'slack connected');
  }

  async send(m: OutboundMessage, ctx: SendContext): Promise<DeliveryReceipt> {
    const web = this.#web;
    if (!web) throw new AdapterError('slack', 'unavailable', 'not started');
    const parts = renderMessages(m.text, { markup: 'slack-mrkdwn', limit: MAX_TEXT, unit: 'chars' });
    const ids: string[] = [];
    for (let i = ctx.partsSent; i < parts.length; i++) {
      if (ctx.signal.aborted) throw new AdapterError('slack', 'unavailable', 'cancelled (shutting down)');
      try {
        // The first part replaces a streamed preview when there is one (posted anew if it is gone).
        if (i === 0 && m.editOf !== undefined && (await this.#replacePreview(web, m.chatId, m.editOf, parts[0]!))) {
          ids.push(m.editOf);
          ctx.onPart(1, m.editOf);
          continue;
        }
        const r = await web.chat.postMessage({
          channel: m.chatId,
          text: parts[i]!,
          mrkdwn: true,
          unfurl_links: false,
          ...(m.threadId ? { thread_ts: m.threadId } : {}),
        });
        ids.push(String(r.ts));
        ctx.onPart(i + 1, String(r.ts));
      } catch (err) {
        throw toAdapterError(err);
      }
    }
    return { platformMessageIds: ids, sentAt: Date.now() };
  }

  /** Edits the preview into the final first part; false when the preview is gone (deleted, not ours). */
  async #replacePreview(web: webApi.WebClient, channel: string, ts: string, text: string): Promise<boolean> {
    try {
      await web.chat.update({ channel, ts, text });
      return true;
    } catch (err) {
      const e = err as { code?: string; data?: { error?: string } };
      if (e.code === 'slack_webapi_platform_error' && /^(message_not_found|cant_update_message)$/.test(e.data?.error ?? '')) return false;
      throw err;
    }
  }

  startStream(message: InboundMessage): ReplyStream | undefined {
    const web = this.#web;
    if (!this.#cfg.stream || !web) return undefined;
    const thread = message.threadId ? { thread_ts: message.threadId } : {};
    return throttledPreview({
      everyMs: EDIT_EVERY_MS,
      render: (t) => `${renderMessages(t, { markup: 'slack-mrkdwn', limit: MAX_TEXT - 2, unit: 'chars' })[0] ?? ''} …`,
      post: async (t) => String((await web.chat.postMessage({ channel: message.chat.id, text: t, mrkdwn: true, unfurl_links: false, ...thread })).ts),
      edit: async (ts, t) => {
        await web.chat.update({ channel: message.chat.id, ts, text: t });
      },
      log: this.#log,
    });
  }

  /** An 👀 reaction on the question while the model works, removed when the answer is ready. */
  startTyping(message: InboundMessage): Typing {
    const web = this.#web;
    const timestamp = message.id.slice(message.id.indexOf(':') + 1);
    const target = { channel: message.chat.id, timestamp, name: TYPING_REACTION };
    const added = web?.reactions.add(target).then(() => true, (err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'reactions.add failed');
      return false;
    });
    return {
      stop: () => void added?.then((ok) => {
        if (ok) void web?.reactions.remove(target).catch(() => undefined);
      }),
    };
  }

  health(): AdapterHealth {
    const connected = this.#cfg.mode === 'events' ? this.#me !== undefined : this.#connected;
    return { connected, lastEventAt: this.#lastEventAt, lastError: this.#lastError, detail: this.#me ? `@${this.#me.name}, ${this.#cfg.mode}` : 'not started' };
  }

  /** Downloads a file (url_private) with the bot token, refusing more than `maxBytes`. */
  async download(url: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.#cfg.botToken}` }, redirect: 'manual', ...(signal ? { signal } : {}) });
    if (!res.ok || !res.body) throw new AdapterError('slack', res.status === 401 || res.status === 403 || res.status === 302 ? 'auth' : 'network', `file download answered ${res.status}`);
    return readCapped('slack', res.body as AsyncIterable<Uint8Array>, maxBytes);
  }

  async #client(): Promise<webApi.WebClient> {
    if (this.#web) return this.#web;
    const { webApi } = await import('@slack/bolt');
    // No retries inside the client: a 429 or a network error goes back to the gateway, which retries
    // the reply (resuming after the parts already sent) with its own backoff and Retry-After.
    this.#web = new webApi.WebClient(this.#cfg.botToken, {
      slackApiUrl: this.#cfg.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logLevel: webApi.LogLevel.ERROR,
    });
    return this.#web;
  }

  async #identity(web: webApi.WebClient, signal: AbortSignal): Promise<Identity> {
    try {
      const stopped = () => new AdapterError('slack', 'network', signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError' ? 'auth.test timed out' : 'cancelled');
      if (signal.aborted) throw stopped();
      const r = await Promise.race([
        web.auth.test(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(stopped()), { once: true })),
      ]);
      return { userId: String(r.user_id), botId: String(r.bot_id ?? ''), name: String(r.user), team: String(r.team) };
    } catch (err) {
      throw toAdapterError(err);
    }
  }

  /** Records the event's message; resolves once it is durable (then the platform may be acknowledged). */
  async #accept(event: SlackEvent): Promise<void> {
    this.#lastEventAt = Date.now();
    const inbound = toInbound(event, { botUserId: this.#me!.userId, allowUsers: this.#cfg.allowUsers, allowChannels: this.#cfg.allowChannels });
    if ('skip' in inbound) {
      this.#log.debug({ channel: event.channel, reason: inbound.skip }, 'event ignored');
      return;
    }
    const s = await this.#host!.submit(inbound);
    if (!s.duplicate) s.outcome.catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'turn not finished'));
  }

  async #startSocket(signal: AbortSignal): Promise<void> {
    if (!this.#cfg.appToken) throw new AdapterError('slack', 'auth', 'adapters.slack.app_token is empty (set SLACK_APP_TOKEN)');
    const { SocketModeClient, LogLevel } = await import('@slack/socket-mode');
    const socket = new SocketModeClient({ appToken: this.#cfg.appToken, clientOptions: { slackApiUrl: this.#cfg.apiUrl }, logger: slackLogger(this.#log, LogLevel.WARN) });
    this.#socket = socket;
    socket.on('connected', () => { this.#connected = true; });
    socket.on('disconnected', () => { this.#connected = false; });
    socket.on('reconnecting', () => {
      this.#connected = false;
      this.#log.warn('slack socket reconnecting');
    });
    socket.on('slack_event', async ({ ack, type, body }: { ack: () => Promise<void>; type: string; body?: { event?: SlackEvent } }) => {
      try {
        if (type === 'events_api' && body?.event) await this.#accept(body.event);
        // Acknowledged after the inbox has it: Slack redelivers what is not acknowledged.
        await ack();
      } catch (err) {
        this.#lastError = (err as Error).message;
        this.#log.error({ err: (err as Error).message }, 'slack event not recorded; not acknowledged, Slack will redeliver');
      }
    });
    try {
      await socket.start();
    } catch (err) {
      throw toAdapterError(err);
    }
    if (signal.aborted) await socket.disconnect();
  }

  #startEvents(): void {
    const secret = this.#cfg.signingSecret!;
    this.#http.route('POST', this.#cfg.eventsPath, async ({ req, res }) => {
      const raw = (await readBody(req, 1024 * 1024)).toString('utf8');
      const { verifySlackRequest } = await import('@slack/bolt');
      try {
        verifySlackRequest({
          signingSecret: secret,
          body: raw,
          headers: {
            'x-slack-signature': String(req.headers['x-slack-signature'] ?? ''),
            'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp'] ?? 0),
          },
        });
      } catch {
        throw new HttpError(401, 'invalid or stale Slack signature');
      }
      let body: { type?: string; challenge?: string; event?: SlackEvent };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        throw new HttpError(400, 'body is not valid JSON');
      }
      if (body.type === 'url_verification') return sendJson(res, 200, { challenge: body.challenge });
      if (body.type === 'event_callback' && body.event) await this.#accept(body.event);
      // 200 only after the inbox has it; a retry (X-Slack-Retry-Num) is deduplicated there.
      sendJson(res, 200, { ok: true });
    }, { auth: false });
  }
}

/**
 * The Slack libraries' logger interface onto ours. Their errors during a reconnect are expected noise
 * (the socket client retries by itself): they go to debug; warnings stay warnings.
 */
function slackLogger(log: Logger, level: import('@slack/socket-mode').LogLevel) {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug({ lib: 'slack' }, text(m)),
    info: (...m: unknown[]) => log.debug({ lib: 'slack' }, text(m)),
    warn: (...m: unknown[]) => log.warn({ lib: 'slack' }, text(m)),
    error: (...m: unknown[]) => log.debug({ lib: 'slack' }, text(m)),
    setLevel: () => undefined,
    getLevel: () => level,
    setName: () => undefined,
  };
}
