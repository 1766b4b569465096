// doctor's checks of `security.tls`: the files load, the key belongs to the certificate, the
// certificate chains to the configured CA (or to a public root), and it is valid now and for a while.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { TlsFileError, type TlsConfig } from '../core/config/tls.ts';
import { readTlsMaterial, type TlsMaterial } from '../core/http/tls.ts';

type Status = 'ok' | 'warn' | 'fail' | 'skip';
type Add = (name: string, status: Status, detail: string) => void;

const DAY_MS = 86_400_000;
/** Certificates closer than this to their end are a warning: time to renew (and SIGHUP). */
const EXPIRY_WARN_DAYS = 30;

export function checkTls(tls: TlsConfig | undefined, add: Add): void {
  if (!tls) {
    add('tls', 'skip', 'security.tls is not set: the gateway speaks plain HTTP');
    return;
  }
  let m: TlsMaterial;
  try {
    m = readTlsMaterial(tls);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    add('tls', 'fail', err.message);
    return;
  }
  const clients = tls.requireClientCert ? `, client certificates from ${tls.ca} required` : '';
  add('tls', 'ok', `HTTPS with ${tls.cert}, minimum ${tls.minVersion}${clients}`);
  if (m.leaf.checkPrivateKey(m.privateKey)) add('tls key', 'ok', `${tls.key} belongs to the certificate`);
  else add('tls key', 'fail', `${tls.key} does not belong to the certificate in ${tls.cert}: the gateway cannot start with this pair`);
  checkChain(tls, m, add);
  checkValidity(m.leaf, add);
}

function checkChain(tls: TlsConfig, m: TlsMaterial, add: Add): void {
  const fromCa = m.caCerts.length ? chainTo(m.leaf, m.intermediates, m.caCerts) : undefined;
  if (fromCa) {
    add('tls chain', 'ok', `issued by ${oneLine(fromCa.subject)} (from ${tls.ca})`);
    return;
  }
  // `ca` may be only the CA of client certificates, with the server's own from a public CA.
  const publicRoot = chainTo(m.leaf, m.intermediates, rootCertificates.map((pem) => new X509Certificate(pem)));
  if (publicRoot) {
    add('tls chain', 'ok', `issued under the public root ${oneLine(publicRoot.subject)}`);
  } else if (tls.ca) {
    const hint = m.intermediates.length ? '' : ' (if an intermediate CA signed it, append that certificate to the cert file)';
    add('tls chain', 'fail', `${tls.cert} (issuer ${oneLine(m.leaf.issuer)}) is not issued by a CA in ${tls.ca}, nor under a public root${hint}`);
  } else {
    add('tls chain', 'skip', `issuer ${oneLine(m.leaf.issuer)} is not a public CA and no security.tls.ca is set to check it against`);
  }
}

function checkValidity(leaf: X509Certificate, add: Add): void {
  const now = Date.now();
  const from = leaf.validFromDate;
  const to = leaf.validToDate;
  if (now < from.getTime()) {
    add('tls expiry', 'fail', `the certificate is not valid before ${from.toISOString()}`);
  } else if (now > to.getTime()) {
    add('tls expiry', 'fail', `the certificate expired on ${to.toISOString()}`);
  } else {
    const days = Math.floor((to.getTime() - now) / DAY_MS);
    if (days < EXPIRY_WARN_DAYS) add('tls expiry', 'warn', `the certificate expires in ${days} day(s), on ${to.toISOString()}: renew it, then SIGHUP reloads it`);
    else add('tls expiry', 'ok', `valid until ${to.toISOString()} (${days} days)`);
  }
}

/** The anchor `leaf` chains to through `intermediates` (each signature verified), if any. */
function chainTo(leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[]): X509Certificate | undefined {
  const issued = (child: X509Certificate, parent: X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey);
  const pool = [...intermediates];
  let current = leaf;
  // Each step uses up one intermediate, so a loop among them ends.
  for (;;) {
    const anchor = anchors.find((a) => issued(current, a));
    if (anchor) return anchor;
    const i = pool.findIndex((c) => issued(current, c));
    if (i < 0) return undefined;
    current = pool.splice(i, 1)[0]!;
  }
}

/** X509Certificate.subject is "CN=x\nO=y": one line for a check's detail. */
const oneLine = (dn: string) => dn.split('\n').join(', ');
