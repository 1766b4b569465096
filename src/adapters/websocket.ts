// WebSocket chat on the gateway's HTTP server (default path /ws). Protocol (docs/protocol.md):
//   client → {"type":"message","id":"m1","text":"...","chat"?:"c1","user"?:"u1"} | {"type":"ping"}
//            | {"type":"hello","chat":"c1"} (join a chat, e.g. after reconnecting, to get waiting replies)
//   server → {"type":"delta","id","text"}* then {"type":"reply","id","chat","text"}; {"type":"pong"};
//            {"type":"hello","chat"};
//            {"type":"error","id"?,"error"} for any problem — bad input never drops the socket.
// A socket joins the chat named in its frames (default: a chat of its own). Replies go to every socket
// of the chat; while none is connected they wait in the outbox and are sent when one comes back.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { AdapterError } from '../core/errors.ts';
import type { Authority, HttpGateway } from '../core/http/server.ts';
import type { Logger } from '../core/log.ts';
import type { DeliveryReceipt, OutboundMessage } from '../core/types.ts';
import { parseClientMessage } from './client-message.ts';
import { decodeAttachments, MAX_UPLOAD, Uploads } from './uploads.ts';
import type { Adapter, AdapterHealth, AdapterHost } from './contract.ts';

// Room for one file sent as base64 in the JSON (MAX_UPLOAD, 4/3 larger encoded); clients are authenticated and rate-limited.
const MAX_FRAME = Math.ceil((MAX_UPLOAD * 4) / 3) + 64 * 1024;

/** A socket's API key is checked again (revoked?) at its first frame after this long. */
const KEY_RECHECK_MS = 1000;
/** How long clients have to answer the close frame at shutdown. */
const CLOSE_WAIT_MS = 1000;

export class WebSocketAdapter implements Adapter {
  readonly platform = 'websocket';
  readonly limits = { maxTextLength: MAX_FRAME };
  readonly #http: HttpGateway;
  readonly #uploads = new Uploads('websocket');
  readonly #path: string;
  readonly #log: Logger;
  /** Made at the first upgrade: `ws` (with Node's crypto and zlib) costs ~5 MB resident before any client. */
  #wss: Promise<WebSocketServer> | undefined;
  readonly #clients = new Set<WebSocket>();
  readonly #chats = new Map<string, Set<WebSocket>>();
  #host: AdapterHost | undefined;
  #lastEventAt: number | null = null;
  #lastError: string | null = null;

  constructor(opts: { http: HttpGateway; path: string; log: Logger }) {
    this.#http = opts.http;
    this.#path = opts.path;
    this.#log = opts.log.child({ adapter: 'websocket' });
  }

  async start(host: AdapterHost, signal: AbortSignal): Promise<void> {
    this.#host = host;
    this.#http.upgrade(this.#path, (req, socket, head, principal, authority) => {
      // The socket stays paused (no 'data' listener) while the library loads.
      this.#wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME }));
      void this.#wss.then((wss) => wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, req, principal, authority)));
    }, { auth: true });
    signal.addEventListener('abort', () => {
      for (const ws of this.#clients) ws.close(1001, 'server shutting down');
      // A client that never answers the close frame (asleep, cut off) would hold the listener, and so
      // serve's exit, for ws's 30 s close timeout: it is cut off after a short wait.
      setTimeout(() => {
        for (const ws of this.#clients) ws.terminate();
      }, CLOSE_WAIT_MS).unref();
    }, { once: true });
  }

  async send(m: OutboundMessage): Promise<DeliveryReceipt> {
    // A socket that is closing would silently drop the frame: only open ones count as delivery.
    const open = [...(this.#chats.get(m.chatId) ?? [])].filter((ws) => ws.readyState === ws.OPEN);
    if (open.length === 0) throw new AdapterError(this.platform, 'unavailable', `no client connected for chat ${m.chatId}`);
    // A message nobody asked for right then (scheduled, approved) has no id to answer: `id` is null.
    const frame = JSON.stringify({ type: 'reply', id: m.inReplyTo === undefined ? null : clientId(m.chatId, m.inReplyTo), chat: m.chatId, text: m.text });
    for (const ws of open) {
      corkUntilTick(ws);
      ws.send(frame);
    }
    return { platformMessageIds: m.inReplyTo === undefined ? [] : [m.inReplyTo], sentAt: Date.now() };
  }

  async download(ref: string, maxBytes: number): Promise<Buffer> {
    return this.#uploads.take(ref, maxBytes);
  }

  health(): AdapterHealth {
    const n = this.#clients.size;
    return { connected: this.#host !== undefined, lastEventAt: this.#lastEventAt, lastError: this.#lastError, detail: `${n} client${n === 1 ? '' : 's'}` };
  }

  #connected(ws: WebSocket, req: IncomingMessage, principal: string, authority: Authority | undefined): void {
    this.#clients.add(ws);
    const own = randomUUID();
    const joined = new Set<string>();
    const reply = (frame: object) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const join = (chat: string) => {
      if (joined.has(chat)) return;
      joined.add(chat);
      let set = this.#chats.get(chat);
      if (!set) this.#chats.set(chat, (set = new Set()));
      set.add(ws);
      this.#host?.online(chat);
    };
    ws.on('error', (err) => {
      this.#lastError = err.message;
      // Oversized frames close the socket in ws (code 1009); say why before it goes.
      this.#log.debug({ err: err.message }, 'websocket error');
    });
    ws.on('close', () => {
      this.#clients.delete(ws);
      for (const chat of joined) {
        const set = this.#chats.get(chat);
        set?.delete(ws);
        if (set?.size === 0) this.#chats.delete(chat);
      }
    });
    // The key is checked again at most once a KEY_RECHECK_MS, not at each frame: a check parses the URL
    // and asks the database (managed keys), which at thousands of frames a second would cost the turns.
    let keyCheckedAt = Date.now();
    ws.on('message', (data, isBinary) => {
      // ws still hands over frames that arrive after our close frame (a revoked key's, until the client
      // answers or ws's close timeout): none is acted on.
      if (ws.readyState !== ws.OPEN) return;
      const now = (this.#lastEventAt = Date.now());
      if (now - keyCheckedAt >= KEY_RECHECK_MS) {
        keyCheckedAt = now;
        if (!this.#http.admits(req)) return ws.close(1008, 'API key no longer valid');
      }
      let frame: unknown;
      try {
        frame = isBinary ? undefined : JSON.parse(data.toString());
      } catch { /* answered below */ }
      if (typeof frame !== 'object' || frame === null) return reply({ type: 'error', error: 'frame is not a JSON object' });
      const f = frame as { type?: unknown; id?: unknown };
      const id = typeof f.id === 'string' ? f.id : undefined;
      if (f.type === 'ping') return reply({ type: 'pong', ...(id ? { id } : {}) });
      if (f.type === 'hello') {
        // Joins a chat without sending anything: a client that reconnects gets the replies that waited.
        const chat = (frame as { chat?: unknown }).chat;
        if (typeof chat !== 'string' || chat === '' || chat.length > 200) return reply({ type: 'error', error: '"chat" must be a non-empty string' });
        // A join looks up the chat's waiting replies: it counts against the key's limit like a message.
        const t = this.#http.take(principal, req);
        if (!t.ok) return reply({ type: 'error', error: t.error });
        reply({ type: 'hello', chat });
        return join(chat);
      }
      if (f.type !== 'message') return reply({ type: 'error', ...(id ? { id } : {}), error: `unknown frame type ${JSON.stringify(f.type ?? null)}; expected "message", "hello" or "ping"` });
      const t = this.#http.take(principal, req);
      if (!t.ok) return reply({ type: 'error', ...(id ? { id } : {}), error: t.error });
      const parsed = parseClientMessage(frame);
      if ('error' in parsed) return reply({ type: 'error', ...(id ? { id } : {}), error: parsed.error });
      const decoded = decodeAttachments((frame as { attachments?: unknown }).attachments);
      if ('error' in decoded) return reply({ type: 'error', ...(id ? { id } : {}), error: decoded.error });
      let attachments;
      try {
        attachments = decoded.files.map((f) => this.#uploads.put(f.bytes, f.name, undefined));
      } catch (err) {
        return reply({ type: 'error', ...(id ? { id } : {}), error: (err as Error).message });
      }
      const chat = parsed.chat ?? own;
      const msgId = parsed.id ?? randomUUID();
      join(chat);
      const host = this.#host;
      if (!host) return reply({ type: 'error', id: msgId, error: 'not ready' });
      host.receive(
        {
          platform: this.platform,
          id: `${chat}/${msgId}`,
          chat: { id: chat, type: 'dm' },
          sender: { id: parsed.user ?? principal },
          ...(authority ? { authority } : {}),
          text: parsed.text,
          sentAt: Date.now(),
          attachments,
        },
        (text) => reply({ type: 'delta', id: msgId, text }),
      ).then((outcome) => {
        if (outcome.duplicate) reply({ type: 'error', id: msgId, error: 'duplicate message id: this message was already received' });
      }, (err: unknown) => {
        this.#lastError = (err as Error).message;
        reply({ type: 'error', id: msgId, error: err instanceof AdapterError && err.kind === 'unavailable' ? 'server is shutting down' : 'internal error' });
        if (!(err instanceof AdapterError)) this.#log.error({ err }, 'turn failed unexpectedly');
      });
    });
  }
}

/** The id the client chose, recovered from the inbound id `${chat}/${id}`. */
function clientId(chat: string, inboundId: string): string {
  return inboundId.startsWith(`${chat}/`) ? inboundId.slice(chat.length + 1) : inboundId;
}

/**
 * Holds a socket's writes until the current batch of microtasks is done. The replies of one group
 * commit are handed over together (Gateway), and `ws` writes each frame with its own writev: corked,
 * they leave in one system call per socket (measured: ~8 µs of a static reply's ~50 µs was writev).
 * `_socket` is ws's own field (public in practice since ws 1.x); without it frames go out one by one.
 */
function corkUntilTick(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: { cork?: () => void; uncork: () => void; writableCorked: number } })._socket;
  if (typeof socket?.cork !== 'function' || socket.writableCorked > 0) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}
