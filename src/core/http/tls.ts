// The files of `security.tls`, read and checked one by one so a problem names the file it is in (OpenSSL
// alone says "no start line" or "key values mismatch" without saying where), then turned into the
// options node:tls takes. Used by the HTTP gateway (at listen and on reload) and by doctor. Imported
// only when TLS is configured: node:tls costs resident memory a plain-HTTP gateway should not pay.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { TlsFileError, type TlsConfig, type TlsFileKey } from '../config/tls.ts';

/** The files as read (for node:tls) and as parsed (for checks). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** The server's own certificate: the first in the certificate file. */
  readonly leaf: X509Certificate;
  /** Certificates after it in the same file (intermediate CAs sent along to clients). */
  readonly intermediates: readonly X509Certificate[];
  readonly privateKey: KeyObject;
  readonly caCerts: readonly X509Certificate[];
}

export function readTlsMaterial(tls: TlsConfig): TlsMaterial {
  const cert = readTlsFile('cert', tls.cert);
  const key = readTlsFile('key', tls.key);
  const ca = tls.ca === undefined ? undefined : readTlsFile('ca', tls.ca);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError('key', tls.key, `not an unencrypted PEM private key (${(err as Error).message})`, err);
  }
  const [leaf, ...intermediates] = pemCertificates('cert', tls.cert, cert);
  return { cert, key, ca, leaf: leaf!, intermediates, privateKey, caCerts: ca ? pemCertificates('ca', tls.ca!, ca) : [] };
}

/**
 * What the listener's secure context is built from (and the certificate it serves), checked by building
 * one: a key that does not belong to the certificate is refused here, so a reload with a half-replaced
 * pair keeps the old context.
 */
export function loadSecureContext(tls: TlsConfig): { readonly options: SecureContextOptions; readonly leaf: X509Certificate } {
  const m = readTlsMaterial(tls);
  if (!m.leaf.checkPrivateKey(m.privateKey)) {
    throw new TlsFileError('key', tls.key, `does not belong to the certificate in ${tls.cert}`);
  }
  const options: SecureContextOptions = { cert: m.cert, key: m.key, ca: m.ca, minVersion: tls.minVersion };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TlsFileError('cert', tls.cert, `cannot be used with its key: ${(err as Error).message}`, err);
  }
  return { options, leaf: m.leaf };
}

function readTlsFile(key: TlsFileKey, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message;
    throw new TlsFileError(key, file, `cannot be read: ${why}`, err);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file, in order (a chain file or a CA bundle). */
function pemCertificates(key: TlsFileKey, file: string, data: Buffer): X509Certificate[] {
  const blocks = data.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsFileError(key, file, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw new TlsFileError(key, file, `certificate ${i + 1} is not valid: ${(err as Error).message}`, err);
    }
  });
}
