// The gateway's one HTTP server. Adapters and health endpoints register routes on it; authentication
// and the per-key rate limit are applied here, once, for every route that asks for them. With
// `security.tls` it speaks HTTPS (TLS 1.2+, optionally requiring client certificates) and can swap its
// certificate without dropping the connections already open.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TlsConfig } from '../config/tls.ts';
import type { ListenAddress } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { RateLimiter } from '../ratelimit.ts';
import type { Role } from '../policy.ts';
import type { ApiKeyAuth } from './auth.ts';
import type { MetricsSink } from '../metrics-sink.ts';

/** The API key a request came in with: its name and role (see InboundMessage.authority). */
export interface Authority {
  readonly principal: string;
  readonly role: Role;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Who the request authenticated as (a key's name, "anonymous" without keys, "public"), for rate limits and logs. */
  readonly principal: string;
  /** The key that let the request in; undefined when no key was needed (public routes, no keys configured). */
  readonly authority: Authority | undefined;
}

export type RouteHandler = (ctx: RequestContext) => Promise<void> | void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, principal: string, authority: Authority | undefined) => void;

/** Thrown by handlers (and readJson) to answer with a JSON error body. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

/** Reads the raw body, at most `limit` bytes (413 beyond; reading stops there). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads a JSON body of at most `limit` bytes; answers 413/400/415 through HttpError. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'expected Content-Type: application/json');
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

/** auth: needs the API key; limit: counts against the per-key rate limit (message endpoints). */
interface Registered<T> { readonly handler: T; readonly auth: boolean; readonly limit: boolean }
export interface RouteOptions { readonly auth: boolean; readonly limit?: boolean }

export class HttpGateway {
  readonly server: Server | HttpsServer;
  readonly #routes = new Map<string, Registered<RouteHandler>>();
  readonly #upgrades = new Map<string, Registered<UpgradeHandler>>();
  readonly #listen: ListenAddress;
  readonly #auth: ApiKeyAuth;
  readonly #limiter: RateLimiter | undefined;
  readonly #log: Logger;
  /** Told of each request that failed unexpectedly (a 500): clawdbot_errors_total{component="http"}. */
  #errors: Pick<MetricsSink, 'error'> | undefined;
  readonly #tls: { readonly config: TlsConfig; readonly server: HttpsServer } | undefined;

  constructor(opts: { listen: ListenAddress; auth: ApiKeyAuth; limiter: RateLimiter | undefined; log: Logger; tls?: TlsConfig }) {
    this.#listen = opts.listen;
    this.#auth = opts.auth;
    this.#limiter = opts.limiter;
    this.#log = opts.log;
    const timeouts = { requestTimeout: 300_000, headersTimeout: 20_000 };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    if (opts.tls) {
      // node:https (with node:tls) costs ~5 MB resident, so it is loaded only when TLS is configured.
      // No certificate yet: the files are read in listen(), so a gateway that only collects routes
      // (doctor's adapter checks) never touches them. rejectUnauthorized on a server: a client without
      // a certificate from `ca` fails the handshake.
      const { minVersion, requireClientCert } = opts.tls;
      const server = process.getBuiltinModule('node:https').createServer({ ...timeouts, minVersion, requestCert: requireClientCert, rejectUnauthorized: requireClientCert }, onRequest);
      server.on('tlsClientError', (err, socket) => {
        // A client certificate that fails verification closes the socket after the handshake: the error
        // then only says "socket hang up", and the reason (a code such as CERT_HAS_EXPIRED) is on the socket.
        const clientCert = socket.authorizationError as unknown as string | null | undefined;
        this.#log.debug({ err: err.message, clientCert: clientCert ?? undefined, remote: socket.remoteAddress }, 'TLS handshake refused');
      });
      this.#tls = { config: opts.tls, server };
      this.server = server;
    } else {
      this.#tls = undefined;
      this.server = createServer(timeouts, onRequest);
    }
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  /** "https" when the listener speaks TLS, else "http" (for the URLs serve prints). */
  get scheme(): 'http' | 'https' {
    return this.#tls ? 'https' : 'http';
  }

  /** Counts unexpected failures (500s) in `sink` (set once metrics exist, after the server). */
  reportErrorsTo(sink: Pick<MetricsSink, 'error'>): void {
    this.#errors = sink;
  }

  route(method: string, path: string, handler: RouteHandler, opts: RouteOptions): void {
    this.#routes.set(`${method} ${path}`, { handler, auth: opts.auth, limit: opts.limit ?? false });
  }

  /** WebSocket endpoints: the upgrade is authenticated here; the handler limits per message itself. */
  upgrade(path: string, handler: UpgradeHandler, opts: { auth: boolean }): void {
    this.#upgrades.set(path, { handler, auth: opts.auth, limit: false });
  }

  /** Binds the port; with TLS, reads the certificate files first (a TlsFileError names the file at fault). */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.#tls) await this.reloadTls();
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.#listen.port, this.#listen.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: this.#listen.host, port: this.#listen.port });
      });
    });
  }

  /**
   * Re-reads the certificate, key and CA files (after a renewal; serve calls it on SIGHUP). Handshakes
   * from now on use them; connections already open keep the session they negotiated. Files that do not
   * load (missing, not PEM, a key that does not match) reject with a TlsFileError and change nothing.
   * Resolves with the certificate now served, or undefined when the gateway speaks plain HTTP.
   */
  async reloadTls(): Promise<{ readonly subject: string; readonly fingerprint256: string; readonly validTo: string } | undefined> {
    if (!this.#tls) return undefined;
    const { loadSecureContext } = await import('./tls.ts');
    const { options, leaf } = loadSecureContext(this.#tls.config);
    this.#tls.server.setSecureContext(options);
    return { subject: leaf.subject, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo };
  }

  /** Stops accepting connections; idle keep-alive sockets are closed, busy ones finish their request. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  /** Drops every remaining connection (after the shutdown deadline). */
  destroyAll(): void {
    this.server.closeAllConnections();
  }

  #admit(req: IncomingMessage, r: Registered<unknown>): { principal: string; authority: Authority | undefined } | HttpError {
    if (!r.auth) return { principal: 'public', authority: undefined };
    const a = this.#auth.check(req);
    if (!a.ok) return new HttpError(401, a.error, { 'www-authenticate': 'Bearer' });
    if (r.limit) {
      const t = this.take(a.principal, req);
      if (!t.ok) return new HttpError(429, t.error, { 'retry-after': String(t.retryAfterSecs) });
    }
    return { principal: a.principal, authority: this.#auth.required ? { principal: a.principal, role: a.role } : undefined };
  }

  /**
   * Whether the key `req` came in with still lets it in. A WebSocket asks at its first frame a second or
   * more after the last check: a key revoked while the socket is open closes it then (1008).
   */
  admits(req: IncomingMessage): boolean {
    return this.#auth.check(req).ok;
  }

  /** One unit of the per-key rate limit; without a key, callers are told apart by address. */
  take(principal: string, req: IncomingMessage): { ok: true } | { ok: false; error: string; retryAfterSecs: number } {
    if (!this.#limiter) return { ok: true };
    const t = this.#limiter.take(principal === 'anonymous' ? `ip:${req.socket.remoteAddress}` : principal);
    if (t.ok) return t;
    const secs = Math.max(1, Math.ceil(t.retryAfterMs / 1000));
    return { ok: false, error: `rate limit ${this.#limiter.text} exceeded; retry after ${secs} s`, retryAfterSecs: secs };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.#routes.get(`${req.method} ${url.pathname}`);
    try {
      if (!route) {
        const known = [...this.#routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
        throw known ? new HttpError(405, `method ${req.method} not allowed here`) : new HttpError(404, `no such endpoint: ${url.pathname}`);
      }
      const admitted = this.#admit(req, route);
      if (admitted instanceof HttpError) throw admitted;
      await route.handler({ req, res, url, principal: admitted.principal, authority: admitted.authority });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendJson(res, err.status, { error: err.message }, err.headers);
      } else {
        this.#log.error({ err, path: url.pathname }, 'request handler failed');
        this.#errors?.error('http');
        sendJson(res, 500, { error: 'internal error' });
      }
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const up = this.#upgrades.get(url.pathname);
    const refuse = (status: number, message: string, headers: Record<string, string> = {}) => {
      const body = JSON.stringify({ error: message });
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`);
    };
    if (!up) return refuse(404, `no such endpoint: ${url.pathname}`);
    const admitted = this.#admit(req, up);
    if (admitted instanceof HttpError) return refuse(admitted.status, admitted.message, admitted.headers);
    up.handler(req, socket, head, admitted.principal, admitted.authority);
  }
}
