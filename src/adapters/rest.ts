// REST on the gateway's HTTP server: POST /v1/messages with {"text", "user"?, "chat"?, "id"?} answers
// 200 {"reply", "id", "chat", "status": "ok", "action", "model"?} once the turn is done; a turn that
// failed (model down ...) answers 502 with the same shape, "status": "failed" and "error"; a policy
// denial answers 403 with "status": "denied".
import { randomUUID } from 'node:crypto';
import { AdapterError } from '../core/errors.ts';
import { HttpError, readJson, sendJson, type HttpGateway, type RequestContext } from '../core/http/server.ts';
import type { DeliveryReceipt, OutboundMessage } from '../core/types.ts';
import { parseClientMessage } from './client-message.ts';
import type { Adapter, AdapterHealth, AdapterHost } from './contract.ts';

const BODY_LIMIT = 256 * 1024;

export class RestAdapter implements Adapter {
  readonly platform = 'api';
  readonly limits = { maxTextLength: Number.MAX_SAFE_INTEGER };
  readonly #http: HttpGateway;
  /** Requests waiting for their reply, by inbound message id. */
  readonly #waiting = new Map<string, (text: string) => void>();
  #host: AdapterHost | undefined;
  #lastEventAt: number | null = null;

  constructor(opts: { http: HttpGateway }) {
    this.#http = opts.http;
  }

  async start(host: AdapterHost): Promise<void> {
    this.#host = host;
    this.#http.route('POST', '/v1/messages', (ctx) => this.#post(ctx), { auth: true, limit: true });
  }

  async send(m: OutboundMessage): Promise<DeliveryReceipt> {
    const deliver = m.inReplyTo === undefined ? undefined : this.#waiting.get(m.inReplyTo);
    // The HTTP request that asked is gone (client hung up, or the process restarted): nobody to answer.
    if (!deliver) throw new AdapterError(this.platform, 'rejected', m.inReplyTo === undefined ? 'REST has no channel for messages nobody asked for' : `the request for ${m.inReplyTo} is no longer waiting`);
    deliver(m.text);
    return { platformMessageIds: [m.inReplyTo!], sentAt: Date.now() };
  }

  health(): AdapterHealth {
    return { connected: this.#host !== undefined, lastEventAt: this.#lastEventAt, lastError: null, detail: `${this.#waiting.size} waiting` };
  }

  async #post({ req, res, principal, authority }: RequestContext): Promise<void> {
    const host = this.#host;
    if (!host) throw new HttpError(503, 'not ready');
    this.#lastEventAt = Date.now();
    const parsed = parseClientMessage(await readJson(req, BODY_LIMIT));
    if ('error' in parsed) throw new HttpError(400, parsed.error);
    const chat = parsed.chat ?? randomUUID();
    const id = parsed.id ?? randomUUID();
    const inboundId = `${chat}/${id}`;
    let delivered: string | undefined;
    this.#waiting.set(inboundId, (text) => { delivered = text; });
    try {
      const outcome = await host.receive({
        platform: this.platform,
        id: inboundId,
        chat: { id: chat, type: 'dm' },
        sender: { id: parsed.user ?? principal },
        ...(authority ? { authority } : {}),
        text: parsed.text,
        sentAt: Date.now(),
        attachments: [],
      });
      if (outcome.duplicate) throw new HttpError(409, `message id ${JSON.stringify(id)} in chat ${JSON.stringify(chat)} was already received`);
      const base = { id, chat, action: outcome.route?.action ?? null };
      if (!outcome.result) return sendJson(res, 200, { ...base, reply: null, status: 'unrouted' });
      const reply = delivered ?? outcome.result.text;
      if (outcome.result.status === 'failed') return sendJson(res, 502, { ...base, reply, status: 'failed', error: reply });
      // A policy denial is an answer, not a server fault: 403 with the same shape.
      if (outcome.result.status === 'denied') return sendJson(res, 403, { ...base, reply, status: 'denied' });
      sendJson(res, 200, { ...base, reply, status: 'ok', ...(outcome.result.model ? { model: outcome.result.model } : {}) });
    } catch (err) {
      if (err instanceof AdapterError && err.kind === 'unavailable') throw new HttpError(503, 'server is shutting down');
      throw err;
    } finally {
      this.#waiting.delete(inboundId);
    }
  }
}
