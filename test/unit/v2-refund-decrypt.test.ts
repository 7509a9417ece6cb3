// Decrypting the req_info of a v2 refund notification (src/notify/v2-refund/decrypt-req-info.ts).
//
// The rule: base64 -> AES-256-ECB with PKCS#7 padding; the key is the lower-case hex MD5 of the
// merchant's v2 API key, used as 32 ASCII bytes. Refund notifications carry no `sign`, so what does
// not decrypt cleanly into a <root> document is refused with REFUND_UNDECRYPTABLE.

import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decryptRefundReqInfo, refundAesKey } from '../../src/notify/v2-refund/decrypt-req-info';
import type { RefundErrorCode } from '../../src/notify/v2-refund/refund-error';

interface RefundVector {
  readonly api_key: string;
  readonly aes_key: string;
  readonly req_info: string;
  readonly plaintext: string;
}

// Tests run from dist/test/unit: resolve the fixture from the repository root.
const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as RefundVector;

/** Encrypts like WeChat does, written independently of the module under test. */
function encryptReqInfo(plaintext: string | Buffer, apiKey: string): string {
  const key = Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]).toString('base64');
}

function codeOf(r: ReturnType<typeof decryptRefundReqInfo>): RefundErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('public vector: req_info shared by open-source WeChat Pay SDKs', () => {
  const cases: ReadonlyArray<{ name: string; actual: () => string; expected: string }> = [
    {
      name: 'the AES key is the lower-case hex MD5 of the API key',
      actual: () => refundAesKey(vector.api_key),
      expected: vector.aes_key,
    },
    {
      name: 'req_info decrypts to the plaintext exactly',
      actual: () => {
        const r = decryptRefundReqInfo(vector.req_info, vector.api_key);
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        return r.xml;
      },
      expected: vector.plaintext,
    },
    {
      name: 'the test encryptor reproduces req_info from the plaintext (ECB is deterministic)',
      actual: () => encryptReqInfo(vector.plaintext, vector.api_key),
      expected: vector.req_info,
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.actual(), c.expected));
});

describe('round trip: whatever WeChat encrypts under the key decrypts back exactly', () => {
  const cases: ReadonlyArray<{ name: string; xml: string }> = [
    { name: 'one field', xml: '<root><refund_status><![CDATA[SUCCESS]]></refund_status></root>' },
    { name: 'exactly one block (16 bytes: padding adds a whole block)', xml: '<root>123</root>' },
    { name: 'multi-byte UTF-8', xml: '<root><refund_recv_accout><![CDATA[支付用户零钱]]></refund_recv_accout></root>' },
    { name: 'surrounding whitespace is kept as sent', xml: '\n<root></root>\n' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = decryptRefundReqInfo(encryptReqInfo(c.xml, vector.api_key), vector.api_key);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.equal(r.xml, c.xml);
    });
  }
});

describe('what does not decrypt is REFUND_UNDECRYPTABLE', () => {
  const bytes = Buffer.from(vector.req_info, 'base64');
  const flipLast = Buffer.from(bytes);
  flipLast[flipLast.length - 1] = (flipLast[flipLast.length - 1] ?? 0) ^ 0x01;
  const cases: ReadonlyArray<{ name: string; reqInfo: string; apiKey?: string; inMessage: string }> = [
    { name: 'empty req_info', reqInfo: '', inMessage: 'empty' },
    {
      name: 'not base64: a character outside the alphabet',
      reqInfo: `*${vector.req_info.slice(1)}`,
      inMessage: 'not base64',
    },
    {
      name: 'not base64: URL-safe alphabet',
      reqInfo: vector.req_info.replace(/\+/g, '-').replace(/\//g, '_'),
      inMessage: 'not base64',
    },
    {
      name: 'not base64: a line break inside',
      reqInfo: `${vector.req_info.slice(0, 64)}\n${vector.req_info.slice(64)}`,
      inMessage: 'not base64',
    },
    { name: 'not base64: padding dropped', reqInfo: vector.req_info.replace(/=+$/, ''), inMessage: 'not base64' },
    {
      name: 'truncated: not a whole number of AES blocks',
      reqInfo: bytes.subarray(0, bytes.length - 3).toString('base64'),
      inMessage: 'truncated',
    },
    {
      name: 'truncated: the last block dropped',
      reqInfo: bytes.subarray(0, bytes.length - 16).toString('base64'),
      inMessage: 'does not decrypt',
    },
    {
      name: 'truncated: the first block dropped',
      reqInfo: bytes.subarray(16).toString('base64'),
      inMessage: 'does not decrypt',
    },
    { name: 'altered: last byte flipped', reqInfo: flipLast.toString('base64'), inMessage: 'does not decrypt' },
    {
      name: 'wrong key: another merchant',
      reqInfo: vector.req_info,
      apiKey: '192006250b4c09247ec02edce69f6a2d',
      inMessage: 'API key',
    },
    {
      name: 'wrong key: the AES key itself given as the API key',
      reqInfo: vector.req_info,
      apiKey: vector.aes_key,
      inMessage: 'API key',
    },
    {
      name: 'wrong key: API key with different case',
      reqInfo: vector.req_info,
      apiKey: vector.api_key.toLowerCase(),
      inMessage: 'API key',
    },
    {
      name: 'right key, but not a <root> document',
      reqInfo: encryptReqInfo('<xml><a>1</a></xml>', vector.api_key),
      inMessage: '<root>',
    },
    {
      name: 'right key, but not UTF-8',
      reqInfo: encryptReqInfo(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), vector.api_key),
      inMessage: 'UTF-8',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = decryptRefundReqInfo(c.reqInfo, c.apiKey ?? vector.api_key);
      assert.equal(codeOf(r), 'REFUND_UNDECRYPTABLE');
      assert.ok(
        !r.ok && r.error.message.includes(c.inMessage),
        `message mentions "${c.inMessage}": ${r.ok ? '' : r.error.message}`,
      );
      assert.ok(!r.ok && !r.error.message.includes(vector.api_key), 'the message never contains the key');
    });
  }

  test('no wrong key among 2000 is accepted (padding alone would let about 1 in 256 through)', () => {
    for (let i = 0; i < 2000; i += 1) {
      const r = decryptRefundReqInfo(vector.req_info, `wrong-key-${i}`);
      assert.equal(codeOf(r), 'REFUND_UNDECRYPTABLE', `key wrong-key-${i}`);
    }
  });
});

describe('the API key itself must be usable', () => {
  const cases: ReadonlyArray<{ name: string; apiKey: string; expected: RefundErrorCode }> = [
    { name: 'empty API key is a configuration problem', apiKey: '', expected: 'INVALID_API_KEY' },
  ];
  for (const c of cases)
    test(c.name, () => assert.equal(codeOf(decryptRefundReqInfo(vector.req_info, c.apiKey)), c.expected));
});
