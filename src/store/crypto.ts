// Encryption at rest for the text-bearing columns: AES-256-GCM with a fresh random 12-byte nonce per
// value. A stored value describes itself: "enc1:" + key id + ":" + base64(nonce | ciphertext | tag).
// The key id is a fingerprint of the key (not the key), so a value written with another key is reported
// as such instead of as corrupt data, and a rotation can tell which rows it has already done.
// Random 96-bit nonces stay safe for about 2^32 values per key (NIST SP 800-38D); `keys rotate-data`
// starts a new key long before a single gateway gets there.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync } from 'node:crypto';

export type EncryptionErrorKind =
  /** The database is encrypted and no key was given. */
  | 'no_key'
  /** The value or the database was encrypted with another key. */
  | 'wrong_key'
  /** The value was changed after it was written (the GCM tag does not match), or is cut short. */
  | 'tampered'
  /** A clear value where only encrypted ones may be (an encrypted column of an encrypted database). */
  | 'not_encrypted'
  /** A key rotation stopped midway; it must be finished before the database is used. */
  | 'rotation_unfinished';

export class EncryptionError extends Error {
  override name = 'EncryptionError';
  readonly kind: EncryptionErrorKind;
  constructor(kind: EncryptionErrorKind, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts);
    this.kind = kind;
  }
}

/** How a text column is written and read. The stores hold one of these whether or not there is a key. */
export interface TextCodec {
  encrypt(text: string): string;
  decrypt(stored: string): string;
}

/** The codec of a database without a key: values are stored as they are. */
export const CLEAR_TEXT: TextCodec = { encrypt: (text) => text, decrypt: (stored) => stored };

export interface DataCodec extends TextCodec {
  /** Fingerprint of the key, as stored in each value and in the database's `meta`. */
  readonly keyId: string;
}

export const KEY_BYTES = 32;
const SCHEME = 'enc1:';
const KEY_ID_CHARS = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** "enc1:" + key id + ":" */
const HEAD_CHARS = SCHEME.length + KEY_ID_CHARS + 1;

/** A short fingerprint of a data key: the first 8 hex digits of HMAC-SHA-256(key, label). */
export function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('clawdbot data key id').digest('hex').slice(0, KEY_ID_CHARS);
}

/** The key id a stored value names, or undefined when it is not an encrypted value. */
export function storedKeyId(stored: string): string | undefined {
  return stored.startsWith(SCHEME) && stored[HEAD_CHARS - 1] === ':' ? stored.slice(SCHEME.length, HEAD_CHARS - 1) : undefined;
}

/** The start every value encrypted with `keyId` has (for SQL prefix checks). */
export function storedPrefix(keyId: string): string {
  return `${SCHEME}${keyId}:`;
}

/**
 * Nonces are cut from a pool filled from the system's CSPRNG 256 at a time, each used once: one
 * randomBytes call per value costs more than the encryption of a short text.
 */
const nonces = Buffer.alloc(NONCE_BYTES * 256);
let nextNonce = nonces.length;

function freshNonce(): Buffer {
  if (nextNonce === nonces.length) {
    randomFillSync(nonces);
    nextNonce = 0;
  }
  return nonces.subarray(nextNonce, (nextNonce += NONCE_BYTES));
}

export function dataCodec(key: Buffer): DataCodec {
  if (key.length !== KEY_BYTES) throw new RangeError(`a data key is ${KEY_BYTES} bytes, got ${key.length}`);
  // A KeyObject (a copy of the key, made once): handing createCipheriv a Buffer makes it import the key
  // on every call, ~8 of the ~12 µs a short value would otherwise cost.
  const k = createSecretKey(key);
  const keyId = keyIdOf(key);
  const head = storedPrefix(keyId);
  return {
    keyId,
    encrypt(text: string): string {
      const nonce = freshNonce();
      const c = createCipheriv('aes-256-gcm', k, nonce);
      const body = c.update(text, 'utf8');
      const last = c.final();
      return head + Buffer.concat([nonce, body, last, c.getAuthTag()]).toString('base64');
    },
    decrypt(stored: string): string {
      const id = storedKeyId(stored);
      if (id === undefined) throw new EncryptionError('not_encrypted', 'a clear value where an encrypted one was expected');
      if (id !== keyId) throw new EncryptionError('wrong_key', `the value was encrypted with key ${id}, not with the given key ${keyId}`);
      const raw = Buffer.from(stored.slice(HEAD_CHARS), 'base64');
      if (raw.length < NONCE_BYTES + TAG_BYTES) throw new EncryptionError('tampered', `an encrypted value of key ${id} is cut short`);
      const d = createDecipheriv('aes-256-gcm', k, raw.subarray(0, NONCE_BYTES));
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const body = d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES));
      try {
        return Buffer.concat([body, d.final()]).toString('utf8');
      } catch (err) {
        throw new EncryptionError('tampered', `an encrypted value of key ${id} does not authenticate: it was changed after it was written`, { cause: err });
      }
    },
  };
}
