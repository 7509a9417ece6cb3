// The merchant settings added for refunds, APIv3, service providers and key rotation
// (src/config/merchants.ts readMerchant): apiv3_key, platform_certificates, wechatpay_public_keys,
// sub_mch_ids, previous_api_key(+_valid_until), confirm_refunds_with_query,
// MERCHANTS_RELOAD_INTERVAL_MS, and readMerchantsConfig, which a reload calls. Every problem
// reported, no secret echoed.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCoreConfig, readMerchantsConfig, type CoreConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';
import type { Merchant } from '../../src/notify/merchant';

const vector = JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8')) as {
  readonly platform_certificate_pem: string;
  readonly apiv3_key: string;
};
const CERT = vector.platform_certificate_pem;
const CERT_SERIAL = 'D7CE59D1F522D701';
const NOW = new Date('2026-11-27T04:00:00Z');
const KEY_A = 'Abcdefghijklmnopqrstuvwxyz012345';
const KEY_OLD = 'Old0efghijklmnopqrstuvwxyz012345';
const V3_KEY = 'ApiV3Key0123456789abcdefghijklmn';
const PAIR = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = PAIR.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE_PEM = PAIR.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUB_ID = 'PUB_KEY_ID_0114232134912410000000000000';
const CALLERS_JSON = JSON.stringify([{ name: 'gateway', token: 'gateway-token-0123456789abcdef', scopes: ['notify'] }]);

const base = { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: KEY_A };
const FILES: Record<string, string> = {
  '/keys/apiv3': `${V3_KEY}\n`,
  '/keys/platform.pem': CERT,
  '/keys/pub_key.pem': PUBLIC_PEM,
  '/keys/old': KEY_OLD,
};

function fakeFiles(files: Record<string, string> = FILES): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

function merchantOf(entry: Record<string, unknown>, env: Record<string, string> = {}, now = NOW): Merchant {
  const config = readCoreConfig(
    { MERCHANTS_JSON: JSON.stringify([entry]), AUTH_DISABLED: 'true', ...env },
    fakeFiles(),
    now,
  );
  const m = config.merchants[0];
  assert.ok(m);
  return m;
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('accepted', () => {
  const cases: ReadonlyArray<{
    name: string;
    entry: Record<string, unknown>;
    env?: Record<string, string>;
    actual: (m: Merchant) => unknown;
    expected: unknown;
  }> = [
    {
      name: 'a v2-only merchant reads as before: none of the new fields',
      entry: base,
      actual: (m) => m,
      expected: {
        mchId: '1900000001',
        appids: ['wx1234567890abcdef'],
        apiKey: KEY_A,
        signTypes: ['MD5', 'HMAC-SHA256'],
      },
    },
    {
      name: 'apiv3_key inline + a WeChat Pay public key inline',
      entry: { ...base, apiv3_key: V3_KEY, wechatpay_public_keys: [{ id: PUB_ID, pem: PUBLIC_PEM }] },
      actual: (m) => [m.apiV3Key, [...(m.v3Keys?.byId.keys() ?? [])]],
      expected: [V3_KEY, [PUB_ID]],
    },
    {
      name: 'apiv3_key_file (trimmed) + a platform certificate by file path',
      entry: { ...base, apiv3_key_file: '/keys/apiv3', platform_certificates: ['/keys/platform.pem'] },
      actual: (m) => [m.apiV3Key, [...(m.v3Keys?.byId.keys() ?? [])], m.v3Keys?.byId.get(CERT_SERIAL)?.kind],
      expected: [V3_KEY, [CERT_SERIAL], 'certificate'],
    },
    {
      name: 'apiv3_key_env + an inline certificate and a public key from pem_file',
      entry: {
        ...base,
        apiv3_key_env: 'WXPAY_V3',
        platform_certificates: [CERT],
        wechatpay_public_keys: [{ id: PUB_ID, pem_file: '/keys/pub_key.pem' }],
      },
      env: { WXPAY_V3: V3_KEY },
      actual: (m) => [...(m.v3Keys?.byId.keys() ?? [])].sort(),
      expected: [CERT_SERIAL, PUB_ID].sort(),
    },
    {
      name: "a 16-character APIv3 key in development (the public test vector's)",
      entry: { ...base, apiv3_key: vector.apiv3_key, platform_certificates: [CERT] },
      actual: (m) => m.apiV3Key,
      expected: vector.apiv3_key,
    },
    {
      name: 'previous_api_key + previous_api_key_valid_until with an offset',
      entry: { ...base, previous_api_key: KEY_OLD, previous_api_key_valid_until: '2026-12-01T00:00:00+08:00' },
      actual: (m) => m.previousApiKey,
      expected: { key: KEY_OLD, validUntil: new Date('2026-11-30T16:00:00Z') },
    },
    {
      name: 'previous_api_key_file, valid until a UTC instant',
      entry: { ...base, previous_api_key_file: '/keys/old', previous_api_key_valid_until: '2026-12-01T00:00:00Z' },
      actual: (m) => m.previousApiKey?.key,
      expected: KEY_OLD,
    },
    {
      name: 'sub_mch_ids',
      entry: { ...base, sub_mch_ids: ['1900000109', '1900000110'] },
      actual: (m) => m.subMchIds,
      expected: ['1900000109', '1900000110'],
    },
    {
      name: 'confirm_refunds_with_query absent: off, and not set at all',
      entry: base,
      actual: (m) => 'confirmRefundsWithQuery' in m,
      expected: false,
    },
    {
      name: 'confirm_refunds_with_query false: off',
      entry: { ...base, confirm_refunds_with_query: false },
      actual: (m) => m.confirmRefundsWithQuery ?? false,
      expected: false,
    },
    {
      name: 'confirm_refunds_with_query true',
      entry: { ...base, confirm_refunds_with_query: true },
      actual: (m) => m.confirmRefundsWithQuery,
      expected: true,
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.actual(merchantOf(c.entry, c.env)), c.expected));

  test('the v3 keys survive the deep freeze (the merchant is frozen, its KeyObjects work)', () => {
    const m = merchantOf({ ...base, apiv3_key: V3_KEY, wechatpay_public_keys: [{ id: PUB_ID, pem: PUBLIC_PEM }] });
    assert.ok(Object.isFrozen(m));
    assert.equal(m.v3Keys?.byId.get(PUB_ID)?.key.asymmetricKeyDetails?.modulusLength, 2048);
  });
  test('MERCHANTS_RELOAD_INTERVAL_MS: off by default, 60000 when set', () => {
    const config = (env: Record<string, string>): CoreConfig =>
      readCoreConfig({ MERCHANTS_JSON: JSON.stringify([base]), AUTH_DISABLED: 'true', ...env }, fakeFiles(), NOW);
    assert.equal(config({}).merchantsReloadIntervalMs, 0);
    assert.equal(config({ MERCHANTS_RELOAD_INTERVAL_MS: '60000' }).merchantsReloadIntervalMs, 60_000);
  });
});

describe('problems, all reported', () => {
  const v3 = { apiv3_key: V3_KEY, wechatpay_public_keys: [{ id: PUB_ID, pem: PUBLIC_PEM }] };
  const cases: ReadonlyArray<{
    name: string;
    entries: ReadonlyArray<Record<string, unknown>>;
    env?: Record<string, string>;
    now?: Date;
    problems: readonly RegExp[];
  }> = [
    {
      name: 'an APIv3 key of 31 characters',
      entries: [{ ...base, ...v3, apiv3_key: V3_KEY.slice(1) }],
      problems: [/APIv3 key must be 32 \(16 in development/],
    },
    {
      name: 'a 16-character APIv3 key in production',
      entries: [{ ...base, ...v3, apiv3_key: vector.apiv3_key }],
      env: { PAYMENT_CALLBACK_ENV: 'production', CALLERS_JSON },
      problems: [/APIv3 key must be 32 printable/],
    },
    {
      name: 'an APIv3 key without keys to verify',
      entries: [{ ...base, apiv3_key: V3_KEY }],
      problems: [/apiv3_key needs platform_certificates or wechatpay_public_keys/],
    },
    {
      name: 'verification keys without an APIv3 key',
      entries: [{ ...base, platform_certificates: [CERT] }],
      problems: [/need apiv3_key/],
    },
    {
      name: 'a certificate file that cannot be read',
      entries: [{ ...base, apiv3_key: V3_KEY, platform_certificates: ['/keys/missing.pem'] }],
      problems: [/platform_certificates\[0\]: \/keys\/missing\.pem cannot be read/],
    },
    {
      name: 'a certificate expired at start-up',
      entries: [{ ...base, apiv3_key: V3_KEY, platform_certificates: [CERT] }],
      now: new Date('2032-01-01T00:00:00Z'),
      problems: [/expired/],
    },
    {
      name: 'a public key id that is not PUB_KEY_ID_...',
      entries: [{ ...base, ...v3, wechatpay_public_keys: [{ id: 'KEY1', pem: PUBLIC_PEM }] }],
      problems: [/PUB_KEY_ID_/],
    },
    {
      name: 'a public key entry with pem and pem_file',
      entries: [
        { ...base, ...v3, wechatpay_public_keys: [{ id: PUB_ID, pem: PUBLIC_PEM, pem_file: '/keys/pub_key.pem' }] },
      ],
      problems: [/exactly one of "pem", "pem_file"/],
    },
    {
      name: 'a private key where the public key goes',
      entries: [{ ...base, ...v3, wechatpay_public_keys: [{ id: PUB_ID, pem: PRIVATE_PEM }] }],
      problems: [/is a private key/],
    },
    {
      name: 'previous_api_key without its deadline',
      entries: [{ ...base, previous_api_key: KEY_OLD }],
      problems: [/previous_api_key \(or _env, _file\) and previous_api_key_valid_until go together/],
    },
    {
      name: 'a deadline without a previous key',
      entries: [{ ...base, previous_api_key_valid_until: '2026-12-01T00:00:00Z' }],
      problems: [/go together/],
    },
    {
      name: 'a deadline without an offset (local time)',
      entries: [{ ...base, previous_api_key: KEY_OLD, previous_api_key_valid_until: '2026-12-01T00:00:00' }],
      problems: [/ISO 8601 time with an offset/],
    },
    {
      name: 'a deadline that is not a time',
      entries: [{ ...base, previous_api_key: KEY_OLD, previous_api_key_valid_until: 'next week' }],
      problems: [/ISO 8601 time with an offset/],
    },
    {
      name: 'the previous key equal to the current one',
      entries: [{ ...base, previous_api_key: KEY_A, previous_api_key_valid_until: '2026-12-01T00:00:00Z' }],
      problems: [/same as the current key/],
    },
    {
      name: 'a previous key of the wrong length',
      entries: [{ ...base, previous_api_key: 'short', previous_api_key_valid_until: '2026-12-01T00:00:00Z' }],
      problems: [/previous API key must be 32 letters or digits/],
    },
    {
      name: 'sub_mch_ids that are not digits',
      entries: [{ ...base, sub_mch_ids: ['19x'] }],
      problems: [/sub_mch_ids must be a non-empty array/],
    },
    {
      name: 'sub_mch_ids listing one twice',
      entries: [{ ...base, sub_mch_ids: ['1900000109', '1900000109'] }],
      problems: [/same sub-merchant twice/],
    },
    {
      name: 'sub_mch_ids listing the provider itself',
      entries: [{ ...base, sub_mch_ids: ['1900000001'] }],
      problems: [/must not list the provider's own mch_id/],
    },
    {
      name: 'a sub-merchant under two providers',
      entries: [
        { ...base, sub_mch_ids: ['1900000109'] },
        { ...base, mch_id: '1900000002', sub_mch_ids: ['1900000109'] },
      ],
      problems: [/sub_mch_id 1900000109 is listed by both mch_id 1900000001 and mch_id 1900000002/],
    },
    {
      name: 'a sub-merchant that is also a merchant of its own',
      entries: [
        { ...base, sub_mch_ids: ['1900000002'] },
        { ...base, mch_id: '1900000002' },
      ],
      problems: [/sub_mch_id 1900000002 of mch_id 1900000001 is also configured as a merchant of its own/],
    },
    {
      name: 'confirm_refunds_with_query as a string',
      entries: [{ ...base, confirm_refunds_with_query: 'true' }],
      problems: [/confirm_refunds_with_query must be true or false/],
    },
    {
      name: 'confirm_refunds_with_query as a number',
      entries: [{ ...base, confirm_refunds_with_query: 1 }],
      problems: [/confirm_refunds_with_query must be true or false/],
    },
    {
      name: 'two problems in one merchant -> both',
      entries: [{ ...base, apiv3_key: V3_KEY, sub_mch_ids: [] }],
      problems: [/apiv3_key needs/, /sub_mch_ids must be a non-empty array/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(() =>
        readCoreConfig(
          { MERCHANTS_JSON: JSON.stringify(c.entries), AUTH_DISABLED: 'true', ...c.env },
          fakeFiles(),
          c.now ?? NOW,
        ),
      );
      for (const re of c.problems)
        assert.ok(
          problems.some((p) => re.test(p)),
          `no problem matches ${re}: ${JSON.stringify(problems, null, 2)}`,
        );
    });
  }
  test('MERCHANTS_RELOAD_INTERVAL_MS=500 (too eager)', () => {
    const problems = problemsOf(() =>
      readCoreConfig(
        { MERCHANTS_JSON: JSON.stringify([base]), AUTH_DISABLED: 'true', MERCHANTS_RELOAD_INTERVAL_MS: '500' },
        fakeFiles(),
        NOW,
      ),
    );
    assert.deepEqual(problems, ['MERCHANTS_RELOAD_INTERVAL_MS=500 must be 0 (off) or at least 1000']);
  });
});

describe('a refused secret is never echoed', () => {
  const cases: ReadonlyArray<{ name: string; entry: Record<string, unknown>; secret: string }> = [
    {
      name: 'an APIv3 key one character short',
      entry: { ...base, apiv3_key: V3_KEY.slice(1), platform_certificates: [CERT] },
      secret: V3_KEY.slice(1),
    },
    {
      name: 'a previous key with a dash',
      entry: {
        ...base,
        previous_api_key: `${KEY_OLD.slice(1)}-`,
        previous_api_key_valid_until: '2026-12-01T00:00:00Z',
      },
      secret: `${KEY_OLD.slice(1)}-`,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const text = problemsOf(() =>
        readCoreConfig({ MERCHANTS_JSON: JSON.stringify([c.entry]), AUTH_DISABLED: 'true' }, fakeFiles(), NOW),
      ).join('\n');
      for (let i = 0; i + 8 <= c.secret.length; i++) assert.ok(!text.includes(c.secret.slice(i, i + 8)), text);
    });
  }
});

describe('readMerchantsConfig: what a reload reads', () => {
  test('the merchants of MERCHANTS_FILE, frozen', () => {
    const merchants = readMerchantsConfig(
      { MERCHANTS_FILE: '/etc/m.json' },
      fakeFiles({ ...FILES, '/etc/m.json': JSON.stringify({ merchants: [base] }) }),
      NOW,
    );
    assert.deepEqual(
      merchants.map((m) => m.mchId),
      ['1900000001'],
    );
    assert.ok(Object.isFrozen(merchants) && Object.isFrozen(merchants[0]));
  });
  test('every problem of a broken file, as a ConfigError', () => {
    const problems = problemsOf(() =>
      readMerchantsConfig(
        { MERCHANTS_FILE: '/etc/m.json' },
        fakeFiles({
          '/etc/m.json': JSON.stringify([
            { ...base, api_key: 'short' },
            { ...base, mch_id: 'x' },
          ]),
        }),
        NOW,
      ),
    );
    assert.equal(problems.length, 2, JSON.stringify(problems));
  });
  test('only the merchants: other settings are not read again (a bad LOCK_TTL_MS is not its problem)', () => {
    const merchants = readMerchantsConfig(
      { MERCHANTS_JSON: JSON.stringify([base]), LOCK_TTL_MS: 'soon' },
      fakeFiles(),
      NOW,
    );
    assert.equal(merchants.length, 1);
  });
});
