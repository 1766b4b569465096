// `security.tls`: HTTPS on the gateway listener, optionally with client certificates (mutual TLS).
//   security:
//     tls: { cert: server.crt, key: server.key, ca: clients-ca.crt, require_client_cert: true, min_version: TLSv1.2 }
// Paths are relative to the config file's folder (or `~/`). TLS 1.0 and 1.1 are refused as a value:
// a config can raise the floor to 1.3 but never lower it below 1.2.
import { isAbsolute, join, resolve } from 'node:path';
import { nullish, superRefine, type output } from 'zod/mini';
import { ConfigError } from '../errors.ts';
import { bool, nonEmpty, obj, val } from './kit.ts';

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsConfig {
  /** Absolute path of the server certificate (PEM; intermediates may follow the leaf). */
  readonly cert: string;
  /** Absolute path of the certificate's private key (PEM, unencrypted). */
  readonly key: string;
  /** Absolute path of the CA bundle client certificates must chain to (doctor checks the server's against it too). */
  readonly ca: string | undefined;
  /** Refuse clients without a certificate signed by `ca`, at the handshake. */
  readonly requireClientCert: boolean;
  readonly minVersion: TlsMinVersion;
}

export type TlsFileKey = 'cert' | 'key' | 'ca';

/**
 * A TLS file that is missing, unreadable, not PEM, or does not fit the others. Here rather than next to
 * the code that reads the files, so callers can recognise it without loading node:tls.
 */
export class TlsFileError extends ConfigError {
  override name = 'TlsFileError';
  readonly file: string;
  constructor(key: TlsFileKey, file: string, problem: string, cause?: unknown) {
    super(`security.tls.${key} ${file}: ${problem}`, { path: `security.tls.${key}`, cause });
    this.file = file;
  }
}

const DEFAULT_TLS_MIN_VERSION: TlsMinVersion = 'TLSv1.2';

const EXPECTED_VERSION = 'TLSv1.2 (the default) or TLSv1.3';

/**
 * "TLSv1.2", "tlsv1.3", "1.2", and the number 1.2 (YAML reads `min_version: 1.2` as a number). A lower
 * version is recognised so the message can say why it is refused rather than only what is expected.
 */
function parseMinVersion(v: unknown): TlsMinVersion | undefined {
  const t = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  const m = t === undefined ? null : /^(?:TLS\s*v?)?1(?:\.([0-3]))?$/i.exec(t);
  if (!m) return undefined;
  const minor = Number(m[1] ?? 0);
  if (minor < 2) throw new Error(`expected ${EXPECTED_VERSION}: TLS 1.${minor} has known weaknesses and is refused (never below 1.2), got ${JSON.stringify(v)}`);
  return minor === 2 ? 'TLSv1.2' : 'TLSv1.3';
}

const file = (what: string) => val(`a file path (${what}, PEM)`, nonEmpty);

export const tlsSection = obj({
  cert: file('the server certificate'),
  key: file('the private key of the certificate'),
  ca: nullish(file('the CA certificate(s) that sign client certificates')),
  require_client_cert: nullish(bool),
  min_version: nullish(val(EXPECTED_VERSION, parseMinVersion)),
}).check(superRefine((r, ctx) => {
  if (r.require_client_cert === true && !r.ca) {
    ctx.addIssue({ code: 'custom', path: ['require_client_cert'], message: 'expected `ca: FILE` (the CA that signs client certificates) next to require_client_cert: true, got no ca' });
  }
}));

export type RawTls = output<typeof tlsSection>;

/** The validated section with paths made absolute; undefined when TLS is not configured. */
export function compileTls(raw: RawTls | null | undefined, ctx: { readonly dir: string; readonly home: string }): TlsConfig | undefined {
  if (!raw) return undefined;
  const path = (p: string) => (p === '~' || p.startsWith('~/') ? join(ctx.home, p.slice(1)) : isAbsolute(p) ? p : resolve(ctx.dir, p));
  return {
    cert: path(raw.cert),
    key: path(raw.key),
    ca: raw.ca ? path(raw.ca) : undefined,
    requireClientCert: raw.require_client_cert ?? false,
    minVersion: raw.min_version ?? DEFAULT_TLS_MIN_VERSION,
  };
}
