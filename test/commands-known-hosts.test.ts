// Host key checks as OpenSSH reads known_hosts: names with and without a port, hashed names, wildcards,
// negation, @revoked; and fingerprints as ssh-keygen prints them. (The ssh runner's tests check the
// same against a real server.)
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkFingerprint, checkKnownHosts, fingerprintOf } from '../src/core/commands/known-hosts.ts';

const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIA6o1n2bqNFGmC9vVpGSKWnCEaI3vHCmUwMbdgb0P9fu', 'base64');
const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIHu7lYvDOYe8b1WRuVQ0Wz4PhRQWYdR7pXuJ6zQj0OdX', 'base64');
const line = (names: string, k: Buffer = key) => `${names} ssh-ed25519 ${k.toString('base64')} comment`;
const hashed = (name: string) => {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  it('port 22 is the plain name, any other port [host]:port', () => {
    assert.deepEqual(checkKnownHosts(line('db1,10.0.0.5'), 'db1', 22, key), { ok: true });
    assert.equal(checkKnownHosts(line('db1'), 'db1', 2222, key).ok, false);
    assert.deepEqual(checkKnownHosts(line('[db1]:2222'), 'db1', 2222, key), { ok: true });
    assert.deepEqual(checkKnownHosts(line('DB1'), 'db1', 22, key), { ok: true }, 'names compare without case');
  });

  it('hashed names', () => {
    assert.deepEqual(checkKnownHosts(line(hashed('[db1]:2222')), 'db1', 2222, key), { ok: true });
    assert.equal(checkKnownHosts(line(hashed('db2')), 'db1', 22, key).ok, false);
  });

  it('wildcards and negation', () => {
    assert.deepEqual(checkKnownHosts(line('*.prod.example'), 'db1.prod.example', 22, key), { ok: true });
    assert.deepEqual(checkKnownHosts(line('db?'), 'db7', 22, key), { ok: true });
    assert.equal(checkKnownHosts(line('*.prod.example,!db1.prod.example'), 'db1.prod.example', 22, key).ok, false);
    assert.equal(checkKnownHosts(line('db*'), 'xdb1', 22, key).ok, false, 'a pattern matches the whole name');
  });

  it('says whether the host is unknown or its key changed; @revoked refuses a key', () => {
    const unknown = checkKnownHosts(`# comment\n\n${line('elsewhere')}\n`, 'db1', 22, key);
    assert.deepEqual(unknown, { ok: false, reason: 'unknown', message: `db1 is not in known_hosts (the server offers ${fingerprintOf(key)})` });
    const changed = checkKnownHosts(line('db1', other), 'db1', 22, key);
    assert.equal(changed.ok === false && changed.reason, 'changed');
    const revoked = checkKnownHosts(`@revoked * ssh-ed25519 ${key.toString('base64')}\n${line('db1')}`, 'db1', 22, key);
    assert.equal(revoked.ok === false && revoked.reason, 'revoked');
    // Another of the host's keys listed next to the server's is fine; a CA line is no key of the host.
    assert.deepEqual(checkKnownHosts(`${line('db1', other)}\n${line('db1')}`, 'db1', 22, key), { ok: true });
    assert.equal(checkKnownHosts(`@cert-authority db1 ssh-ed25519 ${key.toString('base64')}`, 'db1', 22, key).ok, false);
  });

  it('fingerprints: SHA256 of the key blob, unpadded base64, compared as written', () => {
    const fp = fingerprintOf(key);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(checkFingerprint(key, fp), { ok: true });
    assert.deepEqual(checkFingerprint(key, `${fp}=`), { ok: true });
    assert.equal(checkFingerprint(other, fp).ok, false);
  });
});
