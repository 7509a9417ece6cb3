// Building the APIv3 verification keys from configuration (src/notify/v3/platform-keys.ts): each
// entry is checked once, at build time, with a message that says what to fix.

import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  findV3Key,
  normalizeSerial,
  v3PlatformKeys,
  type V3KeysErrorCode,
  type V3PlatformKeysBuild,
  type V3PlatformKeysInput,
} from '../../src/notify/v3/platform-keys';

const vector = JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8')) as {
  readonly now_unix: number;
  readonly platform_certificate_pem: string;
};

const NOW = new Date(vector.now_unix * 1000);
const CERT = vector.platform_certificate_pem;
/** The vector certificate's validity, as the certificate states it. */
const NOT_BEFORE = '2021-04-27T08:55:23.000Z';
const NOT_AFTER = '2031-04-25T08:55:23.000Z';

const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA_1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const EC = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ID = 'PUB_KEY_ID_0114232134912410000000000000';

function spki(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function codeOf(r: V3PlatformKeysBuild): V3KeysErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('the vector certificate', () => {
  test('is keyed by its serial number, D7CE59D1F522D701, with its validity period', () => {
    const r = v3PlatformKeys({ certificates: [CERT] }, NOW);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual([...r.keys.byId.keys()], ['D7CE59D1F522D701']);
    const key = r.keys.byId.get('D7CE59D1F522D701');
    assert.equal(key?.kind, 'certificate');
    assert.equal(key?.notBefore?.toISOString(), NOT_BEFORE);
    assert.equal(key?.notAfter?.toISOString(), NOT_AFTER);
    assert.deepEqual(r.skipped, []);
  });
});

describe('what builds', () => {
  const cases: ReadonlyArray<{ name: string; input: V3PlatformKeysInput; ids: string[] }> = [
    { name: 'one certificate', input: { certificates: [CERT] }, ids: ['D7CE59D1F522D701'] },
    { name: 'one public key', input: { publicKeys: [{ id: ID, pem: spki(RSA.publicKey) }] }, ids: [ID] },
    {
      name: 'a certificate and a public key (migration to public keys)',
      input: { certificates: [CERT], publicKeys: [{ id: ID, pem: spki(RSA.publicKey) }] },
      ids: ['D7CE59D1F522D701', ID],
    },
    {
      name: 'a PKCS#1 RSA PUBLIC KEY',
      input: { publicKeys: [{ id: ID, pem: RSA.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString() }] },
      ids: [ID],
    },
    {
      name: 'certificate with surrounding whitespace',
      input: { certificates: [`\n${CERT}\n`] },
      ids: ['D7CE59D1F522D701'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = v3PlatformKeys(c.input, NOW);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual([...r.keys.byId.keys()], c.ids);
    });
  }
});

describe('what is refused, and why', () => {
  const cases: ReadonlyArray<{
    name: string;
    input: V3PlatformKeysInput;
    now?: Date;
    expected: V3KeysErrorCode;
    inMessage: string;
  }> = [
    { name: 'nothing configured', input: {}, expected: 'NO_KEYS', inMessage: 'at least one' },
    {
      name: 'empty lists',
      input: { certificates: [], publicKeys: [] },
      expected: 'NO_KEYS',
      inMessage: 'at least one',
    },
    {
      name: 'expired certificate',
      input: { certificates: [CERT] },
      now: new Date('2031-04-25T08:55:24Z'),
      expected: 'CERTIFICATE_EXPIRED',
      inMessage: `expired at ${NOT_AFTER}`,
    },
    {
      name: 'two certificates in one entry',
      input: { certificates: [`${CERT}${CERT}`] },
      expected: 'INVALID_CERTIFICATE',
      inMessage: 'found 2',
    },
    {
      name: 'no certificate in the entry',
      input: { certificates: [spki(RSA.publicKey)] },
      expected: 'INVALID_CERTIFICATE',
      inMessage: 'found 0',
    },
    {
      name: 'a damaged certificate',
      input: { certificates: [CERT.replace('MIIDVzCCAj+g', 'MIIDVzCCAj+h')] },
      expected: 'INVALID_CERTIFICATE',
      inMessage: 'certificates[0]',
    },
    {
      name: 'the same certificate twice',
      input: { certificates: [CERT, CERT] },
      expected: 'DUPLICATE_KEY_ID',
      inMessage: 'D7CE59D1F522D701',
    },
    {
      name: 'the same public key id twice',
      input: {
        publicKeys: [
          { id: ID, pem: spki(RSA.publicKey) },
          { id: ID, pem: spki(RSA.publicKey) },
        ],
      },
      expected: 'DUPLICATE_KEY_ID',
      inMessage: ID,
    },
    {
      name: 'public key id without the PUB_KEY_ID_ prefix',
      input: { publicKeys: [{ id: '0114232134912410000000000000', pem: spki(RSA.publicKey) }] },
      expected: 'INVALID_KEY_ID',
      inMessage: 'PUB_KEY_ID_',
    },
    {
      name: 'empty public key id',
      input: { publicKeys: [{ id: '', pem: spki(RSA.publicKey) }] },
      expected: 'INVALID_KEY_ID',
      inMessage: 'PUB_KEY_ID_',
    },
    {
      name: 'a private key where the public key goes',
      input: { publicKeys: [{ id: ID, pem: RSA.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }] },
      expected: 'INVALID_PUBLIC_KEY',
      inMessage: 'private key',
    },
    {
      name: 'not a PEM key',
      input: { publicKeys: [{ id: ID, pem: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' }] },
      expected: 'INVALID_PUBLIC_KEY',
      inMessage: 'not a readable',
    },
    {
      name: 'an EC public key',
      input: { publicKeys: [{ id: ID, pem: spki(EC.publicKey) }] },
      expected: 'UNSUPPORTED_KEY',
      inMessage: 'only RSA',
    },
    {
      name: 'a 1024-bit RSA key',
      input: { publicKeys: [{ id: ID, pem: spki(RSA_1024.publicKey) }] },
      expected: 'UNSUPPORTED_KEY',
      inMessage: '1024 bits',
    },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.expected}`, () => {
      const r = v3PlatformKeys(c.input, c.now ?? NOW);
      assert.equal(codeOf(r), c.expected);
      assert.ok(!r.ok && r.error.message.includes(c.inMessage), r.ok ? '' : r.error.message);
    });
  }
});

describe('expired certificates: rejected by default, or skipped and reported', () => {
  const later = new Date('2031-05-01T00:00:00Z');
  const cases: ReadonlyArray<{
    name: string;
    input: V3PlatformKeysInput;
    expired?: 'reject' | 'skip';
    expected: V3KeysErrorCode | 'ok';
    ids?: string[];
  }> = [
    { name: 'default: rejected', input: { certificates: [CERT] }, expected: 'CERTIFICATE_EXPIRED' },
    {
      name: 'reject: rejected even beside a valid key',
      input: { certificates: [CERT], publicKeys: [{ id: ID, pem: spki(RSA.publicKey) }] },
      expired: 'reject',
      expected: 'CERTIFICATE_EXPIRED',
    },
    {
      name: 'skip: the other keys remain',
      input: { certificates: [CERT], publicKeys: [{ id: ID, pem: spki(RSA.publicKey) }] },
      expired: 'skip',
      expected: 'ok',
      ids: [ID],
    },
    {
      name: 'skip: nothing left is NO_KEYS, naming the expired one',
      input: { certificates: [CERT] },
      expired: 'skip',
      expected: 'NO_KEYS',
    },
  ];
  for (const c of cases) {
    test(`${c.name}`, () => {
      const r = v3PlatformKeys(c.input, later, c.expired === undefined ? {} : { expired: c.expired });
      assert.equal(codeOf(r), c.expected);
      if (r.ok) {
        assert.deepEqual([...r.keys.byId.keys()], c.ids);
        assert.deepEqual(
          r.skipped.map((s) => s.id),
          ['D7CE59D1F522D701'],
        );
        assert.ok(r.skipped[0]?.reason.includes(NOT_AFTER));
      } else if (r.error.code === 'NO_KEYS') {
        assert.ok(r.error.message.includes('D7CE59D1F522D701'));
      }
    });
  }
  test('a certificate not yet valid is kept (WeChat publishes the next one early); verification waits for it', () => {
    const r = v3PlatformKeys({ certificates: [CERT] }, new Date('2021-01-01T00:00:00Z'));
    assert.equal(codeOf(r), 'ok');
  });
});

describe('looking a key up by Wechatpay-Serial', () => {
  const built = v3PlatformKeys({ certificates: [CERT], publicKeys: [{ id: ID, pem: spki(RSA.publicKey) }] }, NOW);
  assert.ok(built.ok);
  const cases: ReadonlyArray<{ serial: string; found: string | undefined }> = [
    { serial: 'D7CE59D1F522D701', found: 'D7CE59D1F522D701' },
    { serial: 'd7ce59d1f522d701', found: 'D7CE59D1F522D701' },
    { serial: '0000D7CE59D1F522D701', found: 'D7CE59D1F522D701' },
    { serial: ID, found: ID },
    { serial: `${ID}0`, found: undefined },
    { serial: 'PUB_KEY_ID_', found: undefined },
    { serial: '', found: undefined },
    { serial: '__proto__', found: undefined },
  ];
  for (const c of cases)
    test(`${JSON.stringify(c.serial)} -> ${c.found ?? 'none'}`, () =>
      assert.equal(findV3Key(built.keys, c.serial)?.id, c.found));
});

describe('serial numbers compare as hex numbers', () => {
  const cases: ReadonlyArray<{ value: string; expected: string | undefined }> = [
    { value: 'D7CE59D1F522D701', expected: 'D7CE59D1F522D701' },
    { value: '00d7ce59d1f522d701', expected: 'D7CE59D1F522D701' },
    { value: '0A1B', expected: 'A1B' }, // OpenSSL prints whole bytes; WeChat's SDKs print the number
    { value: '0', expected: '0' },
    { value: '000', expected: '0' },
    { value: 'G1', expected: undefined },
    { value: '', expected: undefined },
    { value: '0x1A', expected: undefined },
  ];
  for (const c of cases)
    test(`${JSON.stringify(c.value)} -> ${c.expected ?? 'not a serial'}`, () =>
      assert.equal(normalizeSerial(c.value), c.expected));
});
