// The body of an APIv3 notification (src/notify/v3/notification.ts): id, create_time, event_type,
// resource_type, summary and the encrypted resource. Then the whole vector end to end: verify the
// signature, read the body, decrypt the resource.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decryptV3Resource } from '../../src/notify/v3/decrypt-resource';
import type { V3Parse, V3ParseErrorCode } from '../../src/notify/v3/json-fields';
import { parseV3Notification, type V3Notification } from '../../src/notify/v3/notification';
import { v3PlatformKeys } from '../../src/notify/v3/platform-keys';
import { verifyV3Signature } from '../../src/notify/v3/verify-signature';

interface V3Vector {
  readonly now_unix: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly platform_certificate_pem: string;
  readonly apiv3_key: string;
  readonly plaintext: string;
}

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8'),
) as V3Vector;

const VECTOR_NOTIFICATION: V3Notification = {
  id: '3119dfba-e649-5eec-ab1e-3412bc4d2e17',
  createTime: new Date('2021-06-24T08:37:26.000Z'),
  eventType: 'PAYSCORE.USER_OPEN_SERVICE',
  resourceType: 'encrypt-resource',
  summary: '签约成功',
  resource: {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: (JSON.parse(vector.body) as { resource: { ciphertext: string } }).resource.ciphertext,
    nonce: 'Kj7QIyUiYx1q',
    associated_data: 'payscore',
    original_type: 'payscore',
  },
};

type Body = Record<string, unknown>;
const VECTOR_BODY = JSON.parse(vector.body) as Body;

/** The vector body with top-level or resource fields changed; undefined removes. */
function withBody(changes: Body, resourceChanges: Body = {}): string {
  const body: Body = { ...VECTOR_BODY, resource: { ...(VECTOR_BODY['resource'] as Body) } };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete body[k];
    else body[k] = v;
  }
  const resource = body['resource'] as Body;
  for (const [k, v] of Object.entries(resourceChanges)) {
    if (v === undefined) delete resource[k];
    else resource[k] = v;
  }
  return JSON.stringify(body);
}

function codeOf(r: V3Parse<unknown>): V3ParseErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('official vector: wechatpay-go notify test', () => {
  test('the body reads as the notification it is', () => {
    const r = parseV3Notification(vector.body);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(r.value, VECTOR_NOTIFICATION);
  });
  test('the raw body bytes read the same', () => {
    const r = parseV3Notification(Buffer.from(vector.body, 'utf8'));
    assert.ok(r.ok);
    assert.deepEqual(r.value, VECTOR_NOTIFICATION);
  });
  test('end to end: verify with the certificate, read the body, decrypt the resource to the plaintext', () => {
    const now = new Date(vector.now_unix * 1000);
    const keys = v3PlatformKeys({ certificates: [vector.platform_certificate_pem] }, now);
    assert.ok(keys.ok, keys.ok ? '' : keys.error.message);
    const body = Buffer.from(vector.body, 'utf8');
    const verified = verifyV3Signature(
      {
        timestamp: vector.headers['Wechatpay-Timestamp'],
        nonce: vector.headers['Wechatpay-Nonce'],
        body,
        signature: vector.headers['Wechatpay-Signature'],
        serial: vector.headers['Wechatpay-Serial'],
      },
      keys.keys,
      now,
    );
    assert.ok(verified.ok, verified.ok ? '' : verified.error.message);
    const notification = parseV3Notification(body);
    assert.ok(notification.ok, notification.ok ? '' : notification.error.message);
    const decrypted = decryptV3Resource(notification.value.resource, vector.apiv3_key);
    assert.ok(decrypted.ok, decrypted.ok ? '' : decrypted.error.message);
    assert.equal(decrypted.plaintext, vector.plaintext);
  });
});

describe('documented event types read the same way', () => {
  const cases = [
    'TRANSACTION.SUCCESS',
    'REFUND.SUCCESS',
    'REFUND.ABNORMAL',
    'REFUND.CLOSED',
    'MCHTRANSFER.BILL.FINISHED',
  ];
  for (const eventType of cases) {
    test(eventType, () => {
      const r = parseV3Notification(withBody({ event_type: eventType }));
      assert.ok(r.ok && r.value.eventType === eventType);
    });
  }
  test('optional resource fields may be absent (associated_data, original_type)', () => {
    const r = parseV3Notification(withBody({}, { associated_data: undefined, original_type: undefined }));
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(Object.keys(r.value.resource).sort(), ['algorithm', 'ciphertext', 'nonce']);
  });
  test('associated_data may be empty', () => {
    const r = parseV3Notification(withBody({}, { associated_data: '' }));
    assert.ok(r.ok && r.value.resource.associated_data === '');
  });
  test('unknown fields are ignored (WeChat may add fields)', () => {
    assert.equal(codeOf(parseV3Notification(withBody({ future_field: { a: 1 } }))), 'ok');
  });
});

describe('not a JSON object: INVALID_JSON', () => {
  const cases: ReadonlyArray<{ name: string; body: string | Buffer }> = [
    { name: 'empty', body: '' },
    { name: 'truncated', body: vector.body.slice(0, -1) },
    { name: 'XML (a v2 notification)', body: '<xml><return_code>SUCCESS</return_code></xml>' },
    { name: 'an array', body: '[]' },
    { name: 'a string', body: '"x"' },
    { name: 'null', body: 'null' },
    { name: 'bytes that are not UTF-8', body: Buffer.from([0x7b, 0xff, 0x7d]) },
  ];
  for (const c of cases) test(c.name, () => assert.equal(codeOf(parseV3Notification(c.body)), 'INVALID_JSON'));
});

describe('required fields: absent or null is MISSING_FIELD, naming it', () => {
  const top = ['id', 'create_time', 'event_type', 'resource_type', 'summary', 'resource'];
  const inResource = ['algorithm', 'ciphertext', 'nonce'];
  const cases = [
    ...top.flatMap((f) => [
      { name: `${f} absent`, body: withBody({ [f]: undefined }), field: f },
      { name: `${f} null`, body: withBody({ [f]: null }), field: f },
    ]),
    ...inResource.map((f) => ({
      name: `resource.${f} absent`,
      body: withBody({}, { [f]: undefined }),
      field: `resource.${f}`,
    })),
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Notification(c.body);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      assert.ok(!r.ok && r.error.message.includes(c.field), r.ok ? '' : r.error.message);
    });
  }
});

describe('field shapes: INVALID_FIELD, naming the field', () => {
  const cases: ReadonlyArray<{ name: string; body: string; field: string }> = [
    { name: 'id is a number', body: withBody({ id: 42 }), field: 'id' },
    { name: 'id is empty', body: withBody({ id: '' }), field: 'id' },
    { name: 'id has a space', body: withBody({ id: 'EV 1' }), field: 'id' },
    { name: 'id longer than 64', body: withBody({ id: 'E'.repeat(65) }), field: 'id' },
    {
      name: 'create_time without offset',
      body: withBody({ create_time: '2021-06-24T16:37:26' }),
      field: 'create_time',
    },
    { name: 'create_time as Unix seconds', body: withBody({ create_time: 1624523846 }), field: 'create_time' },
    {
      name: 'create_time impossible',
      body: withBody({ create_time: '2021-02-30T16:37:26+08:00' }),
      field: 'create_time',
    },
    { name: 'event_type lower case', body: withBody({ event_type: 'transaction.success' }), field: 'event_type' },
    { name: 'event_type empty', body: withBody({ event_type: '' }), field: 'event_type' },
    {
      name: 'resource_type other than encrypt-resource',
      body: withBody({ resource_type: 'plain-resource' }),
      field: 'resource_type',
    },
    { name: 'summary is an object', body: withBody({ summary: {} }), field: 'summary' },
    { name: 'resource is a string', body: withBody({ resource: 'YDS3lKPa' }), field: 'resource' },
    { name: 'resource is an array', body: withBody({ resource: [] }), field: 'resource' },
    { name: 'resource.ciphertext empty', body: withBody({}, { ciphertext: '' }), field: 'resource.ciphertext' },
    { name: 'resource.nonce is a number', body: withBody({}, { nonce: 123456789012 }), field: 'resource.nonce' },
    {
      name: 'resource.associated_data is a number',
      body: withBody({}, { associated_data: 1 }),
      field: 'resource.associated_data',
    },
    {
      name: 'resource.algorithm with spaces',
      body: withBody({}, { algorithm: 'AEAD AES' }),
      field: 'resource.algorithm',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Notification(c.body);
      assert.equal(codeOf(r), 'INVALID_FIELD');
      assert.ok(!r.ok && r.error.message.includes(`${c.field} must be`), r.ok ? '' : r.error.message);
    });
  }
  test('__proto__ in the body does not reach Object.prototype', () => {
    const r = parseV3Notification('{"__proto__":{"id":"x"}}');
    assert.equal(codeOf(r), 'MISSING_FIELD');
    assert.equal(({} as Record<string, unknown>)['id'], undefined);
  });
});
