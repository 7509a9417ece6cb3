// APIv3 notification signatures (src/notify/v3/verify-signature.ts), rule by rule.
//
// The rule: the signed message is `timestamp + "\n" + nonce + "\n" + raw body + "\n"`, RSA PKCS#1
// v1.5 with SHA-256, checked with the platform certificate or WeChat Pay public key named by
// Wechatpay-Serial; the timestamp must be within 5 minutes of now, either way; signatures that start
// with WECHATPAY/SIGNTEST/ are WeChat's probes and must be rejected.

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { v3PlatformKeys, type V3PlatformKeys } from '../../src/notify/v3/platform-keys';
import {
  v3SignedBytes,
  verifyV3Signature,
  type V3SignedMessage,
  type V3Verification,
  type V3VerifyErrorCode,
} from '../../src/notify/v3/verify-signature';

interface V3Vector {
  readonly now_unix: number;
  readonly headers: Readonly<
    Record<'Wechatpay-Timestamp' | 'Wechatpay-Nonce' | 'Wechatpay-Serial' | 'Wechatpay-Signature', string>
  >;
  readonly body: string;
  readonly platform_certificate_pem: string;
}

// Tests run from dist/test/unit: resolve the fixture from the repository root.
const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8'),
) as V3Vector;

/** The clock frozen at the vector's timestamp: a running clock would reject it. */
const NOW = new Date(vector.now_unix * 1000);

const VECTOR_MESSAGE: V3SignedMessage = Object.freeze({
  timestamp: vector.headers['Wechatpay-Timestamp'],
  nonce: vector.headers['Wechatpay-Nonce'],
  body: Buffer.from(vector.body, 'utf8'),
  signature: vector.headers['Wechatpay-Signature'],
  serial: vector.headers['Wechatpay-Serial'],
});

// Test-generated WeChat Pay public keys: node:crypto cannot issue an X.509 certificate, so the
// certificate path is exercised with the vector's certificate and the public-key path with these.
const KEY_A = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY_B = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ID_A = 'PUB_KEY_ID_0114232134912410000000000000';
const ID_B = 'PUB_KEY_ID_0114232134912410000000000001';

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function build(input: Parameters<typeof v3PlatformKeys>[0], now = NOW): V3PlatformKeys {
  const r = v3PlatformKeys(input, now);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.keys;
}

const CERT_KEYS = build({ certificates: [vector.platform_certificate_pem] });
const ALL_KEYS = build({
  certificates: [vector.platform_certificate_pem],
  publicKeys: [
    { id: ID_A, pem: pem(KEY_A.publicKey) },
    { id: ID_B, pem: pem(KEY_B.publicKey) },
  ],
});

/** Signs like WeChat does, building the message independently of v3SignedBytes. */
function signed(
  privateKey: KeyObject,
  serial: string,
  timestamp: number,
  body = '{"id":"EV-2018022511223320873"}',
  nonce = 'fdasfwiwlf8wfasfdsa',
): V3SignedMessage {
  const message = Buffer.from(`${timestamp}\n${nonce}\n${body}\n`, 'utf8');
  return {
    timestamp: String(timestamp),
    nonce,
    body: Buffer.from(body, 'utf8'),
    signature: sign('sha256', message, privateKey).toString('base64'),
    serial,
  };
}

function codeOf(r: V3Verification): V3VerifyErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('official vector: wechatpay-go notify test, verified with its platform certificate', () => {
  test('the vector verifies at now_unix with the certificate', () => {
    const r = verifyV3Signature(VECTOR_MESSAGE, CERT_KEYS, NOW);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.key.kind, 'certificate');
    assert.equal(r.key.id, 'D7CE59D1F522D701');
  });
  test('the vector verifies with other keys configured alongside', () => {
    assert.equal(codeOf(verifyV3Signature(VECTOR_MESSAGE, ALL_KEYS, NOW)), 'ok');
  });
  test('the signed bytes are timestamp\\nnonce\\nbody\\n', () => {
    assert.equal(
      v3SignedBytes('1624523846', 'EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz', VECTOR_MESSAGE.body).toString('utf8'),
      `1624523846\nEcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz\n${vector.body}\n`,
    );
  });
});

describe('Wechatpay-Serial names the certificate by its serial number in upper-case hex', () => {
  const cert = new X509Certificate(vector.platform_certificate_pem);
  test('X509Certificate.serialNumber is the header value', () => assert.equal(cert.serialNumber, 'D7CE59D1F522D701'));
  test('in the DER the serial is INTEGER 00 D7 CE 59 D1 F5 22 D7 01 (the 00 only keeps it positive)', () => {
    // Certificate SEQUENCE (4 bytes) > TBSCertificate SEQUENCE (4) > [0] version (5) > serial INTEGER.
    assert.equal(cert.raw.subarray(13, 15).toString('hex'), '0209');
    assert.equal(cert.raw.subarray(15, 24).toString('hex').toUpperCase(), '00D7CE59D1F522D701');
  });
  const cases: ReadonlyArray<{ name: string; serial: string; expected: V3VerifyErrorCode | 'ok' }> = [
    { name: 'as sent', serial: 'D7CE59D1F522D701', expected: 'ok' },
    { name: 'lower case', serial: 'd7ce59d1f522d701', expected: 'ok' },
    { name: 'with the DER sign byte', serial: '00D7CE59D1F522D701', expected: 'ok' },
    { name: 'one digit different', serial: 'D7CE59D1F522D702', expected: 'UNKNOWN_SERIAL' },
    { name: 'a prefix of it', serial: 'D7CE59D1F522D7', expected: 'UNKNOWN_SERIAL' },
    { name: 'not hex', serial: 'D7CE59D1F522D70G', expected: 'UNKNOWN_SERIAL' },
    {
      name: 'decimal spelling of the same number',
      serial: BigInt('0xD7CE59D1F522D701').toString(10),
      expected: 'UNKNOWN_SERIAL',
    },
  ];
  for (const c of cases) {
    test(`serial ${c.name} (${c.serial}) -> ${c.expected}`, () => {
      assert.equal(codeOf(verifyV3Signature({ ...VECTOR_MESSAGE, serial: c.serial }, CERT_KEYS, NOW)), c.expected);
    });
  }
});

describe('the signature covers timestamp, nonce and every byte of the body', () => {
  const body = vector.body;
  const cases: ReadonlyArray<{ name: string; change: Partial<V3SignedMessage> }> = [
    {
      name: 'body: one character changed',
      change: { body: Buffer.from(body.replace('签约成功', '签约失败'), 'utf8') },
    },
    {
      name: 'body: re-serialised JSON (same content, other bytes)',
      change: { body: Buffer.from(JSON.stringify(JSON.parse(body), null, 1), 'utf8') },
    },
    { name: 'body: a trailing newline added', change: { body: Buffer.from(`${body}\n`, 'utf8') } },
    { name: 'body: empty', change: { body: Buffer.alloc(0) } },
    { name: 'nonce: another nonce', change: { nonce: 'EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBy' } },
    { name: 'nonce: with a trailing space', change: { nonce: `${VECTOR_MESSAGE.nonce ?? ''} ` } },
    {
      name: 'timestamp: one second later (inside the window, but signed)',
      change: { timestamp: String(vector.now_unix + 1) },
    },
    { name: 'signature: one byte flipped', change: { signature: flipFirstByte(VECTOR_MESSAGE.signature ?? '') } },
    {
      name: 'signature: truncated',
      change: {
        signature: Buffer.from(VECTOR_MESSAGE.signature ?? '', 'base64')
          .subarray(0, 128)
          .toString('base64'),
      },
    },
    { name: 'signature: not base64', change: { signature: '!!!!' } },
    {
      name: 'signature: made by another key',
      change: { signature: signed(KEY_A.privateKey, 'x', vector.now_unix, body).signature },
    },
  ];
  for (const c of cases) {
    test(`${c.name} -> INVALID_SIGNATURE`, () => {
      const r = verifyV3Signature({ ...VECTOR_MESSAGE, ...c.change }, CERT_KEYS, NOW);
      assert.equal(codeOf(r), 'INVALID_SIGNATURE');
    });
  }
  test('the message names the key tried and never contains the signature', () => {
    const r = verifyV3Signature({ ...VECTOR_MESSAGE, nonce: 'other' }, CERT_KEYS, NOW);
    assert.ok(!r.ok && r.error.message.includes('D7CE59D1F522D701'));
    assert.ok(!r.ok && !r.error.message.includes(VECTOR_MESSAGE.signature ?? ''));
  });
});

function flipFirstByte(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('Wechatpay-Timestamp must be within 300 s of now, either way', () => {
  // Re-signed for each timestamp with a test key, so only the window can reject.
  const cases: ReadonlyArray<{ name: string; offset: number; expected: V3VerifyErrorCode | 'ok' }> = [
    { name: 'now', offset: 0, expected: 'ok' },
    { name: '299 s in the past', offset: -299, expected: 'ok' },
    { name: '299 s in the future', offset: 299, expected: 'ok' },
    { name: '300 s in the past (the window is inclusive)', offset: -300, expected: 'ok' },
    { name: '300 s in the future', offset: 300, expected: 'ok' },
    { name: '301 s in the past', offset: -301, expected: 'TIMESTAMP_OUT_OF_WINDOW' },
    { name: '301 s in the future', offset: 301, expected: 'TIMESTAMP_OUT_OF_WINDOW' },
    { name: 'a day in the past (a replay)', offset: -86_400, expected: 'TIMESTAMP_OUT_OF_WINDOW' },
    { name: 'the Unix epoch', offset: -vector.now_unix, expected: 'TIMESTAMP_OUT_OF_WINDOW' },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.expected}`, () => {
      const r = verifyV3Signature(signed(KEY_A.privateKey, ID_A, vector.now_unix + c.offset), ALL_KEYS, NOW);
      assert.equal(codeOf(r), c.expected);
      if (!r.ok && r.error.code === 'TIMESTAMP_OUT_OF_WINDOW') {
        assert.equal(r.error.skewSeconds, c.offset, 'skewSeconds says by how much, signed');
        assert.ok(
          r.error.message.includes(`${Math.abs(c.offset)} s ${c.offset < 0 ? 'in the past' : 'in the future'}`),
          r.error.message,
        );
      }
    });
  }
  test('the vector itself is rejected by a running clock (a year later)', () => {
    const r = verifyV3Signature(VECTOR_MESSAGE, CERT_KEYS, new Date(NOW.getTime() + 365 * 86_400_000));
    assert.equal(codeOf(r), 'TIMESTAMP_OUT_OF_WINDOW');
  });
  test('windowSeconds is an option', () => {
    const message = signed(KEY_A.privateKey, ID_A, vector.now_unix - 301);
    assert.equal(codeOf(verifyV3Signature(message, ALL_KEYS, NOW, { windowSeconds: 600 })), 'ok');
    assert.equal(codeOf(verifyV3Signature(message, ALL_KEYS, NOW, { windowSeconds: 60 })), 'TIMESTAMP_OUT_OF_WINDOW');
  });
  test('now with milliseconds: the skew is exact', () => {
    const r = verifyV3Signature(
      signed(KEY_A.privateKey, ID_A, vector.now_unix - 300),
      ALL_KEYS,
      new Date(NOW.getTime() + 500),
    );
    assert.ok(!r.ok && r.error.code === 'TIMESTAMP_OUT_OF_WINDOW' && r.error.skewSeconds === -300.5);
  });
});

describe('Wechatpay-Timestamp must be Unix seconds', () => {
  const values = [
    '1624523846.0',
    '+1624523846',
    '-1',
    '01624523846',
    '1624523846000000',
    '1624523846 ',
    'Thu, 24 Jun 2021 08:37:26 GMT',
    '0x60D44546',
  ];
  for (const value of values) {
    test(`${JSON.stringify(value)} -> INVALID_HEADER`, () => {
      const r = verifyV3Signature({ ...VECTOR_MESSAGE, timestamp: value }, CERT_KEYS, NOW);
      assert.equal(codeOf(r), 'INVALID_HEADER');
      assert.ok(!r.ok && r.error.code === 'INVALID_HEADER' && r.error.header === 'Wechatpay-Timestamp');
    });
  }
});

describe('signature probes (WECHATPAY/SIGNTEST/...) are rejected as such', () => {
  const cases: ReadonlyArray<{ name: string; message: V3SignedMessage; expected: V3VerifyErrorCode }> = [
    {
      name: 'probe on the vector',
      message: { ...VECTOR_MESSAGE, signature: 'WECHATPAY/SIGNTEST/tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm' },
      expected: 'SIGNATURE_PROBE',
    },
    {
      name: 'probe with an unknown serial: still a probe',
      message: { ...VECTOR_MESSAGE, serial: 'ABC', signature: 'WECHATPAY/SIGNTEST/x' },
      expected: 'SIGNATURE_PROBE',
    },
    {
      name: 'probe with a stale timestamp: still a probe',
      message: { ...VECTOR_MESSAGE, timestamp: '1', signature: 'WECHATPAY/SIGNTEST/x' },
      expected: 'SIGNATURE_PROBE',
    },
    {
      name: 'lower-case prefix is not a probe, just invalid',
      message: { ...VECTOR_MESSAGE, signature: 'wechatpay/signtest/x' },
      expected: 'INVALID_SIGNATURE',
    },
  ];
  for (const c of cases)
    test(`${c.name} -> ${c.expected}`, () =>
      assert.equal(codeOf(verifyV3Signature(c.message, CERT_KEYS, NOW)), c.expected));
});

describe('missing headers: MISSING_HEADER names each one', () => {
  const names = {
    timestamp: 'Wechatpay-Timestamp',
    nonce: 'Wechatpay-Nonce',
    signature: 'Wechatpay-Signature',
    serial: 'Wechatpay-Serial',
  } as const;
  const single = (Object.keys(names) as Array<keyof typeof names>).flatMap((field) => [
    { name: `${names[field]} absent`, change: { [field]: undefined }, missing: [names[field]] },
    { name: `${names[field]} empty`, change: { [field]: '' }, missing: [names[field]] },
    { name: `${names[field]} blank`, change: { [field]: '  ' }, missing: [names[field]] },
  ]);
  const cases = [
    ...single,
    {
      name: 'all four absent',
      change: { timestamp: undefined, nonce: undefined, signature: undefined, serial: undefined },
      missing: Object.values(names),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = verifyV3Signature({ ...VECTOR_MESSAGE, ...c.change }, CERT_KEYS, NOW);
      assert.equal(codeOf(r), 'MISSING_HEADER');
      assert.ok(!r.ok && r.error.code === 'MISSING_HEADER');
      assert.deepEqual(r.error.headers, c.missing);
      for (const h of c.missing) assert.ok(r.error.message.includes(h));
    });
  }
});

describe('keys: the serial must name a configured key (UNKNOWN_SERIAL otherwise)', () => {
  const cases: ReadonlyArray<{
    name: string;
    message: () => V3SignedMessage;
    keys: V3PlatformKeys;
    expected: V3VerifyErrorCode | 'ok';
  }> = [
    {
      name: 'public key A signs, serial A',
      message: () => signed(KEY_A.privateKey, ID_A, vector.now_unix),
      keys: ALL_KEYS,
      expected: 'ok',
    },
    {
      name: 'public key B signs, serial B',
      message: () => signed(KEY_B.privateKey, ID_B, vector.now_unix),
      keys: ALL_KEYS,
      expected: 'ok',
    },
    {
      name: 'key A signs, serial B',
      message: () => signed(KEY_A.privateKey, ID_B, vector.now_unix),
      keys: ALL_KEYS,
      expected: 'INVALID_SIGNATURE',
    },
    {
      name: 'key A signs, serial of the certificate',
      message: () => signed(KEY_A.privateKey, 'D7CE59D1F522D701', vector.now_unix),
      keys: ALL_KEYS,
      expected: 'INVALID_SIGNATURE',
    },
    {
      name: 'a public key id that is not configured',
      message: () => signed(KEY_A.privateKey, 'PUB_KEY_ID_0114232134912410000000000009', vector.now_unix),
      keys: ALL_KEYS,
      expected: 'UNKNOWN_SERIAL',
    },
    {
      name: 'public key id in lower case (ids are exact)',
      message: () => signed(KEY_A.privateKey, ID_A.toLowerCase(), vector.now_unix),
      keys: ALL_KEYS,
      expected: 'UNKNOWN_SERIAL',
    },
    {
      name: 'the vector, with only public keys configured',
      message: () => VECTOR_MESSAGE,
      keys: build({ publicKeys: [{ id: ID_A, pem: pem(KEY_A.publicKey) }] }),
      expected: 'UNKNOWN_SERIAL',
    },
  ];
  for (const c of cases)
    test(`${c.name} -> ${c.expected}`, () =>
      assert.equal(codeOf(verifyV3Signature(c.message(), c.keys, NOW)), c.expected));
  test('UNKNOWN_SERIAL reports the serial and says what to do', () => {
    const r = verifyV3Signature(
      { ...VECTOR_MESSAGE, serial: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1' },
      CERT_KEYS,
      NOW,
    );
    assert.ok(
      !r.ok && r.error.code === 'UNKNOWN_SERIAL' && r.error.serial === '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
    );
    assert.ok(r.error.message.includes('rotated'));
  });
});

describe('rotation: every configured key verifies while both are valid', () => {
  const rotating = build({
    certificates: [vector.platform_certificate_pem],
    publicKeys: [
      { id: ID_A, pem: pem(KEY_A.publicKey) },
      { id: ID_B, pem: pem(KEY_B.publicKey) },
    ],
  });
  const cases: ReadonlyArray<{ name: string; message: () => V3SignedMessage }> = [
    { name: 'old platform certificate (the vector)', message: () => VECTOR_MESSAGE },
    { name: 'current public key A', message: () => signed(KEY_A.privateKey, ID_A, vector.now_unix) },
    { name: 'new public key B', message: () => signed(KEY_B.privateKey, ID_B, vector.now_unix) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = verifyV3Signature(c.message(), rotating, NOW);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
    });
  }
});

describe('a certificate is used only inside its validity period', () => {
  // Built while valid; verified at a time outside it with a matching timestamp, so only validity can reject.
  const notAfter = Date.parse('2031-04-25T08:55:23Z');
  const notBefore = Date.parse('2021-04-27T08:55:23Z');
  const cases: ReadonlyArray<{ name: string; at: number; expected: V3VerifyErrorCode }> = [
    { name: 'a second after notAfter', at: notAfter + 1000, expected: 'CERTIFICATE_NOT_VALID' },
    { name: 'a second before notBefore', at: notBefore - 1000, expected: 'CERTIFICATE_NOT_VALID' },
    {
      name: 'at notAfter exactly (still valid; the vector signature then fails)',
      at: notAfter,
      expected: 'INVALID_SIGNATURE',
    },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.expected}`, () => {
      const at = new Date(c.at);
      const message = { ...VECTOR_MESSAGE, timestamp: String(Math.floor(c.at / 1000)) };
      assert.equal(codeOf(verifyV3Signature(message, CERT_KEYS, at)), c.expected);
    });
  }
});

describe('contract: a broken clock or window is a programming error, thrown', () => {
  test('invalid now', () =>
    assert.throws(() => verifyV3Signature(VECTOR_MESSAGE, CERT_KEYS, new Date(Number.NaN)), RangeError));
  test('negative window', () =>
    assert.throws(() => verifyV3Signature(VECTOR_MESSAGE, CERT_KEYS, NOW, { windowSeconds: -1 }), RangeError));
});
