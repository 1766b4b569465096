// Checking an SSH server's host key the way OpenSSH does, against a known_hosts file or a pinned
// fingerprint. Host patterns: plain names, `[host]:port` for ports other than 22, hashed entries
// (`|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt), wildcards `*` `?`, and `!negation`.
// `@revoked` lines refuse a key; `@cert-authority` lines are skipped (no certificates here).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HostKeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'unknown' | 'changed' | 'revoked'; readonly message: string };

/** "SHA256:…" as `ssh-keygen -lf` prints it: unpadded base64 of the SHA-256 of the key blob. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function checkFingerprint(key: Buffer, pinned: string): HostKeyVerdict {
  const got = fingerprintOf(key);
  if (got === pinned.replace(/=+$/, '')) return { ok: true };
  return { ok: false, reason: 'changed', message: `host key ${got} does not match the pinned fingerprint ${pinned}` };
}

/** `text` is the content of a known_hosts file; `key` the server's host key blob. */
export function checkKnownHosts(text: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
  let hostListed = false;
  let matched = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith('@') ? fields.shift() : undefined;
    const [patterns, , blob] = fields;
    if (!patterns || !blob || marker === '@cert-authority' || !hostMatches(patterns, name)) continue;
    const same = sameKey(blob, key);
    if (marker === '@revoked') {
      if (same) return { ok: false, reason: 'revoked', message: `host key of ${name} is marked @revoked in known_hosts` };
      continue;
    }
    hostListed = true;
    if (same) matched = true;
  }
  if (matched) return { ok: true };
  const fp = fingerprintOf(key);
  return hostListed
    ? { ok: false, reason: 'changed', message: `host key of ${name} changed: the server offers ${fp}, which known_hosts does not list for it` }
    : { ok: false, reason: 'unknown', message: `${name} is not in known_hosts (the server offers ${fp})` };
}

function sameKey(base64: string, key: Buffer): boolean {
  const listed = Buffer.from(base64, 'base64');
  return listed.length === key.length && timingSafeEqual(listed, key);
}

/** A comma-separated pattern list: some pattern matches and no negated one does. */
function hostMatches(list: string, name: string): boolean {
  let hit = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) {
      hit = true;
    }
  }
  return hit;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    const want = Buffer.from(hash, 'base64');
    return want.length === mac.length && timingSafeEqual(want, mac);
  }
  const re = new RegExp(`^${pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}
