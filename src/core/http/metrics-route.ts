// GET `metrics.endpoint` on the gateway's listener. Without `metrics.token` it takes the gateway's API key
// like every other endpoint. With one, that token (and only it) is required as a bearer token: a
// scraper then holds a credential that reads metrics and cannot send messages or read the audit log.
import type { Metrics } from '../metrics.ts';
import { Secret } from './auth.ts';
import { HttpError, type HttpGateway } from './server.ts';

export interface MetricsRouteOptions {
  readonly endpoint: string;
  readonly token: string | undefined;
}

/** Query parameters that look like credentials: refused, since URLs end up in logs (as for API keys). */
const CREDENTIAL_PARAM = /token|key|auth|secret|pass/i;

const unauthorized = (message: string) => new HttpError(401, message, { 'www-authenticate': 'Bearer realm="metrics"' });

export function registerMetrics(http: HttpGateway, metrics: Pick<Metrics, 'scrape' | 'contentType'>, opts: MetricsRouteOptions): void {
  const token = opts.token ? new Secret(opts.token) : undefined;
  http.route('GET', opts.endpoint, async ({ req, res, url }) => {
    if (token) {
      if ([...url.searchParams.keys()].some((k) => CREDENTIAL_PARAM.test(k))) throw unauthorized('the metrics token is not accepted in the URL; send it as Authorization: Bearer <token>');
      const header = req.headers.authorization;
      const m = typeof header === 'string' ? /^bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!m) throw unauthorized('missing metrics token (Authorization: Bearer <token>)');
      if (!token.matches(m[1])) throw unauthorized('invalid metrics token');
    }
    const body = await metrics.scrape();
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  }, { auth: token === undefined });
}
