// REST on the gateway's HTTP server: POST /v1/messages with {"text", "user"?, "chat"?, "id"?} answers
// 200 {"reply", "id", "chat", "status": "ok", "action", "model"?} once the turn is done; a turn that
// failed (model down ...) answers 502 with the same shape, "status": "failed" and "error"; a policy
// denial answers 403 with "status": "denied".
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AdapterError } from '../core/errors.ts';
import { HttpError, readBody, readJson, sendJson, type HttpGateway, type RequestContext } from '../core/http/server.ts';
import type { DeliveryReceipt, OutboundMessage } from '../core/types.ts';
import { parseClientMessage, type ClientMessage } from './client-message.ts';
import { decodeAttachments, MAX_UPLOAD, Uploads } from './uploads.ts';
import type { Adapter, AdapterHealth, AdapterHost } from './contract.ts';

// One file as base64 in JSON (4/3 of MAX_UPLOAD), or as a multipart part, plus the message.
const BODY_LIMIT = Math.ceil((MAX_UPLOAD * 4) / 3) + 64 * 1024;

export class RestAdapter implements Adapter {
  readonly platform = 'api';
  readonly limits = { maxTextLength: Number.MAX_SAFE_INTEGER };
  readonly #http: HttpGateway;
  readonly #uploads = new Uploads('api');
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

  async download(ref: string, maxBytes: number): Promise<Buffer> {
    return this.#uploads.take(ref, maxBytes);
  }

  /**
   * The message and its files: JSON (`attachments: [{ data: base64, name? }]`), or multipart/form-data
   * with fields text, id, user, chat and the files as parts (parsed by the fetch API's FormData).
   */
  async #read(req: IncomingMessage): Promise<{ parsed: ClientMessage; files: { bytes: Buffer; name: string | undefined; mime: string | undefined }[] }> {
    const type = req.headers['content-type'] ?? '';
    if (/^multipart\/form-data\b/i.test(type)) {
      let form: FormData;
      try {
        form = await new Request('http://upload/', { method: 'POST', headers: { 'content-type': type }, body: await readBody(req, BODY_LIMIT) }).formData();
      } catch {
        throw new HttpError(400, 'body is not valid multipart/form-data');
      }
      const field = (k: string) => (typeof form.get(k) === 'string' ? (form.get(k) as string) : undefined);
      const parsed = parseClientMessage({ text: field('text'), id: field('id'), user: field('user'), chat: field('chat') });
      if ('error' in parsed) throw new HttpError(400, parsed.error);
      const parts = [...form.values()].filter((v): v is File => typeof v !== 'string');
      if (parts.length > 4) throw new HttpError(400, 'at most 4 files per message');
      const files = await Promise.all(parts.map(async (f) => ({ bytes: Buffer.from(await f.arrayBuffer()), name: f.name || undefined, mime: f.type || undefined })));
      return { parsed, files };
    }
    const body = await readJson(req, BODY_LIMIT);
    const parsed = parseClientMessage(body);
    if ('error' in parsed) throw new HttpError(400, parsed.error);
    const decoded = decodeAttachments((body as { attachments?: unknown }).attachments);
    if ('error' in decoded) throw new HttpError(400, decoded.error);
    return { parsed, files: decoded.files.map((f) => ({ ...f, mime: undefined })) };
  }

  health(): AdapterHealth {
    return { connected: this.#host !== undefined, lastEventAt: this.#lastEventAt, lastError: null, detail: `${this.#waiting.size} waiting` };
  }

  async #post({ req, res, principal, authority }: RequestContext): Promise<void> {
    const host = this.#host;
    if (!host) throw new HttpError(503, 'not ready');
    this.#lastEventAt = Date.now();
    const { parsed, files } = await this.#read(req);
    const attachments = files.map((f) => {
      try {
        return this.#uploads.put(f.bytes, f.name, f.mime);
      } catch (err) {
        if (err instanceof AdapterError && err.kind === 'rate_limited') {
          throw new HttpError(429, err.message, { 'retry-after': String(Math.ceil((err.retryAfterMs ?? 1000) / 1000)) });
        }
        throw new HttpError(413, (err as Error).message);
      }
    });
    const chat = parsed.chat ?? randomUUID();
    const id = parsed.id ?? randomUUID();
    const inboundId = `${chat}/${id}`;
    let delivered: string | undefined;
    const waiter = (text: string) => { delivered = text; };
    // A retry of a request still waiting is a duplicate (409): it must not take the first one's reply.
    const first = !this.#waiting.has(inboundId);
    if (first) this.#waiting.set(inboundId, waiter);
    try {
      const outcome = await host.receive({
        platform: this.platform,
        id: inboundId,
        chat: { id: chat, type: 'dm' },
        sender: { id: parsed.user ?? principal },
        ...(authority ? { authority } : {}),
        text: parsed.text,
        sentAt: Date.now(),
        attachments,
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
      if (first) this.#waiting.delete(inboundId);
    }
  }
}
