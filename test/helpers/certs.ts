// Test certificates made with the openssl command line (Debian's): a CA per call, leaf certificates for
// servers (127.0.0.1, localhost) and clients, with chosen validity dates. Issued through `openssl ca`
// because it takes explicit start and end dates (expired and not-yet-valid certificates), which
// `openssl x509 -req` on OpenSSL 3.0 cannot.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** PEM certificate file. */
  readonly cert: string;
  /** PEM private key file (PKCS#8, unencrypted). */
  readonly key: string;
}

export interface Ca extends CertFiles {
  readonly name: string;
  /** Where this CA keeps its openssl database, config and the certificates it issued. */
  readonly dir: string;
}

export interface IssueOptions {
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  readonly client?: boolean;
  /** Valid from now for this many days (default 365); ignored when notBefore/notAfter are given. */
  readonly days?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** A fresh temporary folder; `remove()` deletes it with everything in it. */
export function tempDir(prefix: string): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const openssl = (args: readonly string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A CA valid for ten years, in `parent/name/`: self-signed (a root), or an intermediate signed by
 * `issuer` (whose certificate a server must then send along: see `chainFile`).
 */
export function makeCa(parent: string, name: string, issuer?: Ca): Ca {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  if (issuer) {
    signed(issuer, name, 'subca', key, cert, new Date(Date.now() - 60_000), new Date(Date.now() + 3650 * 86_400_000));
  } else {
    openssl(['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '3650', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = this',
    '[this]', `database = ${join(dir, 'index.txt')}`, `new_certs_dir = ${dir}`, `serial = ${join(dir, 'serial')}`,
    'default_md = sha256', 'policy = any', 'unique_subject = no', 'copy_extensions = none',
    '[any]', 'commonName = supplied',
    '[server]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1,DNS:localhost',
    '[client]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = clientAuth',
    '[subca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign',
    '',
  ].join('\n'));
  return { name, dir, cert, key };
}

/** A certificate for `cn` signed by `ca`, written as `ca.dir/cn.crt` and `ca.dir/cn.key`. */
export function issueCert(ca: Ca, cn: string, opts: IssueOptions = {}): CertFiles {
  const cert = join(ca.dir, `${cn}.crt`);
  const key = join(ca.dir, `${cn}.key`);
  const start = opts.notBefore ?? new Date(Date.now() - 60_000);
  const end = opts.notAfter ?? new Date(start.getTime() + (opts.days ?? 365) * 86_400_000);
  signed(ca, cn, opts.client ? 'client' : 'server', key, cert, start, end);
  return { cert, key };
}

/** `files` concatenated into `out` (a certificate followed by its intermediates, or a CA bundle). */
export function chainFile(out: string, files: readonly string[]): string {
  writeFileSync(out, files.map((f) => readFileSync(f, 'utf8')).join(''));
  return out;
}

/** A new key at `key` and its certificate for `cn`, signed by `ca` with a section of its ca.cnf. */
function signed(ca: Ca, cn: string, section: 'server' | 'client' | 'subca', key: string, cert: string, start: Date, end: Date): void {
  const csr = `${cert}.csr`;
  openssl(['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['ca', '-batch', '-notext', '-config', join(ca.dir, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key,
    '-extensions', section, '-startdate', asn1Time(start), '-enddate', asn1Time(end), '-in', csr, '-out', cert]);
}

/** SHA-256 fingerprint as Node's X509Certificate and TLS peer certificates show it (AA:BB:...). */
export function fingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/** YYYYMMDDHHMMSSZ, the GeneralizedTime form `openssl ca -startdate/-enddate` accepts. */
function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
