// security.encryption_key / security.encryption_key_file: the data key that encrypts message text,
// session history, approvals' arguments and audit input/output in the database (src/store/crypto.ts).
// 32 random bytes, written as base64 (what `openssl rand -base64 32` prints) or as 64 hex digits;
// normally `${CLAWDBOT_ENCRYPTION_KEY}` or a file only the service account can read. Messages never
// show the value: a wrong key is described by its length only.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { KEY_BYTES } from '../../store/crypto.ts';
import { nullish } from 'zod/mini';
import { nonEmpty, val } from './kit.ts';

export const MAKE_KEY = 'openssl rand -base64 32';
const EXPECTED_KEY = `${KEY_BYTES} random bytes as base64 or as 64 hex digits (make one with \`${MAKE_KEY}\`)`;

/** A data key from its text form; throws an Error whose message says what was expected (never the value). */
export function parseDataKey(text: string): Buffer {
  const t = text.trim();
  // Buffer.from(…, 'base64') skips characters it does not know, so the form is checked first.
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t)) return Buffer.from(t, 'base64');
  const got = t === '' ? 'an empty value (is the environment variable set?)' : `${t.length} characters that are neither`;
  throw new Error(`expected ${EXPECTED_KEY}, got ${got}`);
}

/** Reads a key file (the text form, surrounding whitespace ignored); errors name the file, never its content. */
export function readKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (make one with \`${MAKE_KEY} > ${path}\`)`, { cause: err });
  }
  try {
    return parseDataKey(text);
  } catch (err) {
    throw new Error(`the key file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The keys for the `security:` section of configSchema (schema.ts spreads them in). */
export const encryptionSettings = {
  encryption_key: nullish(val(EXPECTED_KEY, (v) => (typeof v === 'string' ? parseDataKey(v) : undefined))),
  encryption_key_file: nullish(val('a file path holding the key (relative to this config file)', nonEmpty)),
};

export interface RawEncryption {
  readonly encryption_key?: Buffer | null;
  readonly encryption_key_file?: string | null;
}

/** The data key, or undefined when neither setting is given. Throws ConfigError for both, or for a bad key file. */
export function compileEncryption(raw: RawEncryption, ctx: { readonly dir: string; readonly home: string }): Buffer | undefined {
  const file = raw.encryption_key_file;
  if (raw.encryption_key != null && file != null) {
    throw new ConfigError('security: expected either encryption_key or encryption_key_file, got both', { path: 'security.encryption_key_file' });
  }
  if (raw.encryption_key != null) return raw.encryption_key;
  if (file == null) return undefined;
  const path = file === '~' || file.startsWith('~/') ? join(ctx.home, file.slice(1)) : isAbsolute(file) ? file : resolve(ctx.dir, file);
  try {
    return readKeyFile(path);
  } catch (err) {
    throw new ConfigError(`security.encryption_key_file: ${(err as Error).message}`, { path: 'security.encryption_key_file', cause: err });
  }
}
