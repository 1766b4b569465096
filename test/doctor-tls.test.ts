// doctor's TLS checks against certificates made with openssl: key match, chain, expiry.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkTls } from '../src/cli/doctor-tls.ts';
import type { TlsConfig } from '../src/core/config/tls.ts';
import { chainFile, issueCert, makeCa, tempDir, type Ca, type CertFiles } from './helpers/certs.ts';

type Status = 'ok' | 'warn' | 'fail' | 'skip';

/** The checks doctor would print, by name. */
function run(tls: TlsConfig | undefined): Map<string, { status: Status; detail: string }> {
  const out = new Map<string, { status: Status; detail: string }>();
  checkTls(tls, (name, status, detail) => {
    assert.equal(out.has(name), false, `one line per check: ${name}`);
    out.set(name, { status, detail });
  });
  return out;
}

const statuses = (checks: ReturnType<typeof run>) => Object.fromEntries([...checks].map(([n, c]) => [n, c.status]));

const tmp = tempDir('clawdbot-doctor-tls-');
after(() => tmp.remove());
let ca: Ca;
let otherCa: Ca;
let good: CertFiles;
before(() => {
  ca = makeCa(tmp.dir, 'doctor-ca');
  otherCa = makeCa(tmp.dir, 'other-ca');
  good = issueCert(ca, 'good');
});

const config = (files: CertFiles, over: Partial<TlsConfig> = {}): TlsConfig =>
  ({ cert: files.cert, key: files.key, ca: ca.cert, requireClientCert: false, minVersion: 'TLSv1.2', ...over });

describe('doctor: security.tls', () => {
  it('a good certificate passes every check and shows the settings', () => {
    const c = run(config(good, { requireClientCert: true, minVersion: 'TLSv1.3' }));
    assert.deepEqual(statuses(c), { 'tls': 'ok', 'tls key': 'ok', 'tls chain': 'ok', 'tls expiry': 'ok' });
    assert.equal(c.get('tls')!.detail, `HTTPS with ${good.cert}, minimum TLSv1.3, client certificates from ${ca.cert} required`);
    assert.equal(c.get('tls chain')!.detail, `issued by CN=doctor-ca (from ${ca.cert})`);
    assert.match(c.get('tls expiry')!.detail, /^valid until \d{4}-\d\d-\d\dT[\d:.]+Z \((364|365) days\)$/);
  });

  it('a key of another certificate fails', () => {
    const other = issueCert(ca, 'other');
    const c = run(config({ cert: good.cert, key: other.key }));
    assert.equal(c.get('tls key')!.status, 'fail');
    assert.equal(c.get('tls key')!.detail, `${other.key} does not belong to the certificate in ${good.cert}: the gateway cannot start with this pair`);
  });

  it('a certificate expiring in 10 days warns', () => {
    const c = run(config(issueCert(ca, 'soon', { days: 10 })));
    assert.equal(c.get('tls expiry')!.status, 'warn');
    assert.match(c.get('tls expiry')!.detail, /^the certificate expires in (9|10) day\(s\), on .+: renew it, then SIGHUP reloads it$/);
    assert.equal(run(config(issueCert(ca, 'month', { days: 31 }))).get('tls expiry')!.status, 'ok', '30 days or more is fine');
  });

  it('an expired or not yet valid certificate fails', () => {
    const expired = issueCert(ca, 'expired', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
    assert.deepEqual(run(config(expired)).get('tls expiry'), { status: 'fail', detail: 'the certificate expired on 2021-01-01T00:00:00.000Z' });
    const future = new Date(Date.now() + 5 * 86_400_000);
    future.setUTCMilliseconds(0);
    const early = issueCert(ca, 'early', { notBefore: future, days: 365 });
    assert.deepEqual(run(config(early)).get('tls expiry'), { status: 'fail', detail: `the certificate is not valid before ${future.toISOString()}` });
  });

  it('a certificate not issued by the configured CA fails', () => {
    const stranger = issueCert(otherCa, 'stranger');
    const c = run(config(stranger));
    assert.equal(c.get('tls chain')!.status, 'fail');
    assert.equal(c.get('tls chain')!.detail, `${stranger.cert} (issuer CN=other-ca) is not issued by a CA in ${ca.cert}, nor under a public root (if an intermediate CA signed it, append that certificate to the cert file)`);
    assert.equal(c.get('tls key')!.status, 'ok', 'only the chain is wrong');
  });

  it('follows intermediates sent in the cert file, and checks each signature', () => {
    const mid = makeCa(tmp.dir, 'doctor-intermediate', ca);
    const leaf = issueCert(mid, 'behind-intermediate');
    assert.equal(run(config(leaf)).get('tls chain')!.status, 'fail', 'without the intermediate there is no chain');
    const full = chainFile(join(tmp.dir, 'full-chain.crt'), [leaf.cert, mid.cert]);
    assert.deepEqual(run(config({ cert: full, key: leaf.key })).get('tls chain'), { status: 'ok', detail: `issued by CN=doctor-ca (from ${ca.cert})` });
    // An intermediate of the same name from another CA: names match, the signature does not.
    const impostor = makeCa(tmp.dir, 'doctor-intermediate-2', otherCa);
    const wrong = chainFile(join(tmp.dir, 'wrong-chain.crt'), [leaf.cert, impostor.cert]);
    assert.equal(run(config({ cert: wrong, key: leaf.key })).get('tls chain')!.status, 'fail');
  });

  it('without a CA to check against, a private certificate is not judged', () => {
    const c = run(config(good, { ca: undefined }));
    assert.deepEqual(c.get('tls chain'), { status: 'skip', detail: 'issuer CN=doctor-ca is not a public CA and no security.tls.ca is set to check it against' });
  });

  it('an unreadable or non-PEM file fails, naming it', () => {
    const missing = join(tmp.dir, 'missing.crt');
    assert.deepEqual([...run(config({ cert: missing, key: good.key }))], [['tls', { status: 'fail', detail: `security.tls.cert ${missing}: cannot be read: does not exist` }]]);
    assert.deepEqual(run(config({ cert: good.cert, key: good.cert })).get('tls')?.status, 'fail');
    assert.match(run(config({ cert: good.cert, key: good.cert })).get('tls')!.detail, new RegExp(`^security\\.tls\\.key ${good.cert}: not an unencrypted PEM private key`));
  });

  it('without security.tls it says the gateway speaks plain HTTP', () => {
    assert.deepEqual([...run(undefined)], [['tls', { status: 'skip', detail: 'security.tls is not set: the gateway speaks plain HTTP' }]]);
  });
});
