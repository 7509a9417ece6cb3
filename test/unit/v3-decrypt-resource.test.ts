// Decrypting an APIv3 resource (src/notify/v3/decrypt-resource.ts).
//
// The rule: AEAD_AES_256_GCM under the merchant's APIv3 key, the 12-byte nonce as the IV,
// associated_data as the AAD, the last 16 bytes of the base64 ciphertext as the tag. Real APIv3
// keys are 32 bytes; the public vector's key is 16, so it decrypts as AES-128-GCM.

import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  decryptV3Resource,
  type V3Decryption,
  type V3DecryptErrorCode,
  type V3EncryptedResource,
} from '../../src/notify/v3/decrypt-resource';

interface V3Vector {
  readonly body: string;
  readonly apiv3_key: string;
  readonly plaintext: string;
}

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8'),
) as V3Vector;
const VECTOR_RESOURCE = (JSON.parse(vector.body) as { resource: V3EncryptedResource }).resource;

/** A real-length (32-byte) APIv3 key, and a resource encrypted under it by the test itself. */
const KEY_32 = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
const KEY_24 = 'a7cde1ZJB1kG2e7VfTs3jQza';

function encrypt(plaintext: string, key: string | Buffer, nonce: string, aad: string | undefined): V3EncryptedResource {
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const cipher = createCipheriv(`aes-${k.length * 8}-gcm` as 'aes-256-gcm', k, Buffer.from(nonce, 'utf8'));
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: sealed.toString('base64'),
    nonce,
    ...(aad !== undefined ? { associated_data: aad } : {}),
    original_type: 'transaction',
  };
}

const TRANSACTION =
  '{"mchid":"1230000109","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","trade_state":"SUCCESS"}';
const SEALED_32 = encrypt(TRANSACTION, KEY_32, 'fdasflkja484', 'transaction');

function codeOf(r: V3Decryption): V3DecryptErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('official vector: wechatpay-go notify test, 16-byte APIv3 key', () => {
  test('the resource decrypts to the plaintext exactly', () => {
    const r = decryptV3Resource(VECTOR_RESOURCE, vector.apiv3_key);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.plaintext, vector.plaintext);
  });
  test('the key may be given as bytes', () => {
    const r = decryptV3Resource(VECTOR_RESOURCE, Buffer.from(vector.apiv3_key, 'utf8'));
    assert.ok(r.ok && r.plaintext === vector.plaintext);
  });
});

describe('round trips: what WeChat encrypts decrypts back exactly', () => {
  const cases: ReadonlyArray<{ name: string; resource: V3EncryptedResource; key: string | Buffer; expected: string }> =
    [
      { name: '32-byte key (a real APIv3 key: AES-256-GCM)', resource: SEALED_32, key: KEY_32, expected: TRANSACTION },
      {
        name: '24-byte key (AES-192-GCM)',
        resource: encrypt(TRANSACTION, KEY_24, 'fdasflkja484', 'transaction'),
        key: KEY_24,
        expected: TRANSACTION,
      },
      {
        name: 'random 32-byte key given as bytes',
        resource: encrypt(TRANSACTION, Buffer.alloc(32, 7), 'fdasflkja484', 'refund'),
        key: Buffer.alloc(32, 7),
        expected: TRANSACTION,
      },
      {
        name: 'associated_data empty',
        resource: encrypt(TRANSACTION, KEY_32, 'fdasflkja484', ''),
        key: KEY_32,
        expected: TRANSACTION,
      },
      {
        name: 'associated_data left out (same as empty)',
        resource: encrypt(TRANSACTION, KEY_32, 'fdasflkja484', undefined),
        key: KEY_32,
        expected: TRANSACTION,
      },
      {
        name: 'empty plaintext (the ciphertext is only the tag)',
        resource: encrypt('', KEY_32, 'fdasflkja484', 'transaction'),
        key: KEY_32,
        expected: '',
      },
      {
        name: 'multi-byte UTF-8',
        resource: encrypt('{"summary":"支付成功"}', KEY_32, 'fdasflkja484', 'transaction'),
        key: KEY_32,
        expected: '{"summary":"支付成功"}',
      },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const r = decryptV3Resource(c.resource, c.key);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.equal(r.plaintext, c.expected);
    });
  }
});

function flip(b64: string, index: (length: number) => number): string {
  const bytes = Buffer.from(b64, 'base64');
  const i = index(bytes.length);
  bytes[i] = (bytes[i] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('GCM authenticates everything: any change is RESOURCE_UNDECRYPTABLE', () => {
  const sealed = Buffer.from(SEALED_32.ciphertext, 'base64');
  const cases: ReadonlyArray<{ name: string; resource: V3EncryptedResource; key?: string }> = [
    {
      name: 'tag: last byte flipped',
      resource: { ...SEALED_32, ciphertext: flip(SEALED_32.ciphertext, (n) => n - 1) },
    },
    {
      name: 'tag: first tag byte flipped',
      resource: { ...SEALED_32, ciphertext: flip(SEALED_32.ciphertext, (n) => n - 16) },
    },
    {
      name: 'ciphertext: first byte flipped',
      resource: { ...SEALED_32, ciphertext: flip(SEALED_32.ciphertext, () => 0) },
    },
    {
      name: 'ciphertext: a byte dropped before the tag',
      resource: {
        ...SEALED_32,
        ciphertext: Buffer.concat([
          sealed.subarray(0, sealed.length - 17),
          sealed.subarray(sealed.length - 16),
        ]).toString('base64'),
      },
    },
    {
      name: 'ciphertext: the tag dropped',
      resource: { ...SEALED_32, ciphertext: sealed.subarray(0, sealed.length - 16).toString('base64') },
    },
    {
      name: 'ciphertext: shorter than a tag',
      resource: { ...SEALED_32, ciphertext: sealed.subarray(0, 15).toString('base64') },
    },
    { name: 'ciphertext: empty', resource: { ...SEALED_32, ciphertext: '' } },
    {
      name: 'ciphertext: not base64',
      resource: { ...SEALED_32, ciphertext: `${SEALED_32.ciphertext.slice(0, -4)}****` },
    },
    {
      name: 'ciphertext: line breaks inside',
      resource: { ...SEALED_32, ciphertext: `${SEALED_32.ciphertext.slice(0, 8)}\n${SEALED_32.ciphertext.slice(8)}` },
    },
    { name: 'AAD: another associated_data', resource: { ...SEALED_32, associated_data: 'refund' } },
    { name: 'AAD: left out although it was used', resource: { ...SEALED_32, associated_data: undefined } },
    { name: 'nonce: another 12 characters', resource: { ...SEALED_32, nonce: 'fdasflkja485' } },
    { name: 'nonce: 11 bytes', resource: { ...SEALED_32, nonce: 'fdasflkja48' } },
    { name: 'nonce: 13 bytes', resource: { ...SEALED_32, nonce: 'fdasflkja4844' } },
    { name: 'key: another 32-byte key', resource: SEALED_32, key: 'b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb' },
    { name: 'key: the vector key for a 32-byte resource', resource: SEALED_32, key: vector.apiv3_key },
    { name: 'vector: a 32-byte key for the 16-byte resource', resource: VECTOR_RESOURCE, key: KEY_32 },
    { name: 'vector: AAD changed', resource: { ...VECTOR_RESOURCE, associated_data: 'transaction' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = decryptV3Resource(c.resource, c.key ?? KEY_32);
      assert.equal(codeOf(r), 'RESOURCE_UNDECRYPTABLE');
      assert.ok(!r.ok && !r.error.message.includes(c.key ?? KEY_32), 'the message never contains the key');
    });
  }
  test('no random 32-byte key among 200 decrypts the resource', () => {
    for (let i = 0; i < 200; i += 1)
      assert.equal(codeOf(decryptV3Resource(SEALED_32, randomBytes(32))), 'RESOURCE_UNDECRYPTABLE');
  });
  test('authentic but not UTF-8 is refused too', () => {
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(KEY_32), Buffer.from('fdasflkja484'));
    const sealedBad = Buffer.concat([cipher.update(Buffer.from([0xff, 0xfe])), cipher.final(), cipher.getAuthTag()]);
    const r = decryptV3Resource(
      { algorithm: 'AEAD_AES_256_GCM', ciphertext: sealedBad.toString('base64'), nonce: 'fdasflkja484' },
      KEY_32,
    );
    assert.equal(codeOf(r), 'RESOURCE_UNDECRYPTABLE');
  });
});

describe('only AEAD_AES_256_GCM is supported', () => {
  const cases: ReadonlyArray<{ algorithm: string; expected: V3DecryptErrorCode | 'ok' }> = [
    { algorithm: 'AEAD_AES_256_GCM', expected: 'ok' },
    { algorithm: 'aead_aes_256_gcm', expected: 'UNSUPPORTED_ALGORITHM' },
    { algorithm: 'AEAD_AES_128_GCM', expected: 'UNSUPPORTED_ALGORITHM' },
    { algorithm: 'AEAD_SM4_GCM', expected: 'UNSUPPORTED_ALGORITHM' },
    { algorithm: '', expected: 'UNSUPPORTED_ALGORITHM' },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.algorithm)} -> ${c.expected}`, () => {
      const r = decryptV3Resource({ ...SEALED_32, algorithm: c.algorithm }, KEY_32);
      assert.equal(codeOf(r), c.expected);
      if (!r.ok) assert.ok(r.error.message.includes('AEAD_AES_256_GCM'));
    });
  }
});

describe('the APIv3 key length chooses AES-128/192/256; any other length is INVALID_API_V3_KEY', () => {
  const cases: ReadonlyArray<{ bytes: number; expected: V3DecryptErrorCode }> = [
    { bytes: 0, expected: 'INVALID_API_V3_KEY' },
    { bytes: 15, expected: 'INVALID_API_V3_KEY' },
    { bytes: 31, expected: 'INVALID_API_V3_KEY' },
    { bytes: 33, expected: 'INVALID_API_V3_KEY' },
    { bytes: 64, expected: 'INVALID_API_V3_KEY' },
    // Accepted lengths reach decryption, which fails on this resource for a key of 16 or 24 bytes.
    { bytes: 16, expected: 'RESOURCE_UNDECRYPTABLE' },
    { bytes: 24, expected: 'RESOURCE_UNDECRYPTABLE' },
  ];
  for (const c of cases) {
    test(`${c.bytes} bytes -> ${c.expected}`, () => {
      const r = decryptV3Resource(SEALED_32, 'k'.repeat(c.bytes));
      assert.equal(codeOf(r), c.expected);
      if (!r.ok && r.error.code === 'INVALID_API_V3_KEY') assert.ok(r.error.message.includes(`${c.bytes} bytes`));
    });
  }
  test('length is counted in UTF-8 bytes, not characters', () => {
    // 11 three-byte characters = 33 bytes.
    assert.equal(codeOf(decryptV3Resource(SEALED_32, '密'.repeat(11))), 'INVALID_API_V3_KEY');
  });
});
