// Configuration (src/config.ts readCoreConfig, gateway/config.ts readGatewayConfig): defaults that
// run locally, every problem reported at once, and secrets never echoed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readGatewayConfig, type GatewayConfig } from '../../gateway/config';
import { DEMO_MERCHANT, readCoreConfig, type CoreConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';
import type { Merchant } from '../../src/notify/merchant';

type Env = Record<string, string | undefined>;

const KEY_A = 'Abcdefghijklmnopqrstuvwxyz012345';
const KEY_B = 'Z9x8c7v6b5n4m3a2s1d0f9g8h7j6k5l4';

const merchantA = { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: KEY_A };
const merchantB = {
  mch_id: '1900000002',
  appids: ['wx2234567890abcdef', 'wx3234567890abcdef'],
  api_key: KEY_B,
  sign_types: ['HMAC-SHA256'],
};

const MERCHANTS_JSON = JSON.stringify([merchantA]);
const TOKEN = 'gateway-token-0123456789abcdef';
const CALLERS_JSON = JSON.stringify([{ name: 'gateway', token: TOKEN, scopes: ['notify'] }]);
const A: Merchant = {
  mchId: '1900000001',
  appids: ['wx1234567890abcdef'],
  apiKey: KEY_A,
  signTypes: ['MD5', 'HMAC-SHA256'],
};
const B: Merchant = {
  mchId: '1900000002',
  appids: ['wx2234567890abcdef', 'wx3234567890abcdef'],
  apiKey: KEY_B,
  signTypes: ['HMAC-SHA256'],
};

/** A readFile that serves only the given files, like a mounted Secret. */
function fakeFiles(files: Record<string, string> = {}): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
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

describe('readCoreConfig: defaults (only merchants given)', () => {
  const config = (): CoreConfig => readCoreConfig({ MERCHANTS_JSON, AUTH_DISABLED: 'true' }, fakeFiles());
  const cases: ReadonlyArray<{ name: string; actual: (c: CoreConfig) => unknown; expected: unknown }> = [
    { name: 'development mode', actual: (c) => c.env, expected: 'development' },
    { name: 'gRPC on 127.0.0.1:50051', actual: (c) => c.grpcListen, expected: { host: '127.0.0.1', port: 50051 } },
    { name: 'metrics on 127.0.0.1:9464', actual: (c) => c.metricsListen, expected: { host: '127.0.0.1', port: 9464 } },
    {
      name: 'SQLite in data/',
      actual: (c) => c.database,
      expected: {
        client: 'better-sqlite3',
        connection: 'data/payment-callback.sqlite',
        redactedUrl: 'sqlite:data/payment-callback.sqlite',
        poolMax: 1,
      },
    },
    { name: 'no REDIS_URLS: the in-process lock', actual: (c) => c.redisUrls, expected: [] },
    { name: 'lock timings', actual: (c) => c.lock, expected: { ttlMs: 10_000, waitMs: 2_000, retryDelayMs: 25 } },
    { name: 'log level info', actual: (c) => c.logLevel, expected: 'info' },
    { name: 'shutdown grace 10 s', actual: (c) => c.shutdownGraceMs, expected: 10_000 },
    { name: 'sign_types default to both', actual: (c) => c.merchants, expected: [A] },
    {
      name: 'the result is frozen, deeply',
      actual: (c) => [Object.isFrozen(c), Object.isFrozen(c.merchants[0]), Object.isFrozen(c.lock)],
      expected: [true, true, true],
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.actual(config()), c.expected));
});

describe('readCoreConfig: settings that are accepted', () => {
  const cases: ReadonlyArray<{
    name: string;
    env: Env;
    files?: Record<string, string>;
    actual: (c: CoreConfig) => unknown;
    expected: unknown;
  }> = [
    {
      name: 'METRICS_LISTEN=off turns metrics off',
      env: { MERCHANTS_JSON, METRICS_LISTEN: 'off' },
      actual: (c) => c.metricsListen,
      expected: undefined,
    },
    {
      name: 'GRPC_LISTEN=0.0.0.0:6000',
      env: { MERCHANTS_JSON, GRPC_LISTEN: '0.0.0.0:6000' },
      actual: (c) => c.grpcListen,
      expected: { host: '0.0.0.0', port: 6000 },
    },
    {
      name: 'GRPC_LISTEN=[::1]:50052',
      env: { MERCHANTS_JSON, GRPC_LISTEN: '[::1]:50052' },
      actual: (c) => c.grpcListen,
      expected: { host: '::1', port: 50052 },
    },
    {
      name: 'postgres:// -> pg',
      env: { MERCHANTS_JSON, DATABASE_URL: 'postgres://pay:pw@db:5432/pay' },
      actual: (c) => [c.database.client, c.database.connection, c.database.poolMax],
      expected: ['pg', 'postgres://pay:pw@db:5432/pay', 10],
    },
    {
      name: 'postgresql:// -> pg',
      env: { MERCHANTS_JSON, DATABASE_URL: 'postgresql://pay@db/pay', DATABASE_POOL_MAX: '20' },
      actual: (c) => [c.database.client, c.database.connection, c.database.poolMax],
      expected: ['pg', 'postgresql://pay@db/pay', 20],
    },
    {
      name: 'mysql:// -> mysql2',
      env: { MERCHANTS_JSON, DATABASE_URL: 'mysql://pay:pw@db:3306/pay' },
      actual: (c) => [c.database.client, c.database.connection],
      expected: ['mysql2', 'mysql://pay:pw@db:3306/pay'],
    },
    {
      name: 'mariadb:// -> mysql2, connecting with a mysql:// URL',
      env: { MERCHANTS_JSON, DATABASE_URL: 'mariadb://pay:pw@db:3306/pay' },
      actual: (c) => [c.database.client, c.database.connection],
      expected: ['mysql2', 'mysql://pay:pw@db:3306/pay'],
    },
    {
      name: 'sqlite:<file> -> better-sqlite3 with one connection',
      env: { MERCHANTS_JSON, DATABASE_URL: 'sqlite:/var/lib/pay.sqlite', DATABASE_POOL_MAX: '20' },
      actual: (c) => [c.database.client, c.database.connection, c.database.poolMax],
      expected: ['better-sqlite3', '/var/lib/pay.sqlite', 1],
    },
    {
      name: 'REDIS_URLS: three independent nodes, blanks ignored',
      env: { MERCHANTS_JSON, REDIS_URLS: 'redis://r1:6379, redis://r2:6379,,rediss://r3:6380' },
      actual: (c) => c.redisUrls,
      expected: ['redis://r1:6379', 'redis://r2:6379', 'rediss://r3:6380'],
    },
    {
      name: 'LOCK_TTL_MS, LOCK_WAIT_MS, LOCK_RETRY_DELAY_MS',
      env: { MERCHANTS_JSON, LOCK_TTL_MS: '30000', LOCK_WAIT_MS: '29999', LOCK_RETRY_DELAY_MS: '50' },
      actual: (c) => c.lock,
      expected: { ttlMs: 30_000, waitMs: 29_999, retryDelayMs: 50 },
    },
    {
      name: 'MERCHANTS_JSON: an array',
      env: { MERCHANTS_JSON: JSON.stringify([merchantA, merchantB]) },
      actual: (c) => c.merchants,
      expected: [A, B],
    },
    {
      name: 'MERCHANTS_JSON: {"merchants": [...]}',
      env: { MERCHANTS_JSON: JSON.stringify({ merchants: [merchantB] }) },
      actual: (c) => c.merchants,
      expected: [B],
    },
    {
      name: 'api_key_env: the key from another variable',
      env: {
        MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_env: 'WXPAY_KEY_A' }]),
        WXPAY_KEY_A: KEY_A,
      },
      actual: (c) => c.merchants,
      expected: [A],
    },
    {
      name: 'api_key_file: the key from a file (a mounted Secret), trailing newline trimmed',
      env: {
        MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_file: '/run/secrets/key-a' }]),
      },
      files: { '/run/secrets/key-a': `${KEY_A}\n` },
      actual: (c) => c.merchants,
      expected: [A],
    },
    {
      name: 'MERCHANTS_FILE: merchants from a file',
      env: { MERCHANTS_FILE: '/etc/pay/merchants.json' },
      files: { '/etc/pay/merchants.json': JSON.stringify([merchantA]) },
      actual: (c) => c.merchants,
      expected: [A],
    },
    {
      name: 'MERCHANTS_FILE and MERCHANTS_JSON together',
      env: { MERCHANTS_FILE: '/etc/pay/merchants.json', MERCHANTS_JSON: JSON.stringify([merchantB]) },
      files: { '/etc/pay/merchants.json': JSON.stringify([merchantA]) },
      actual: (c) => c.merchants,
      expected: [A, B],
    },
    {
      name: "development + the demo key from WeChat's documentation is accepted",
      env: {
        PAYMENT_CALLBACK_ENV: 'development',
        MERCHANTS_JSON: JSON.stringify([
          { mch_id: DEMO_MERCHANT.mchId, appids: [DEMO_MERCHANT.appid], api_key: DEMO_MERCHANT.apiKey },
        ]),
      },
      actual: (c) => c.merchants.map((m) => m.mchId),
      expected: [DEMO_MERCHANT.mchId],
    },
    {
      name: 'callers with scopes; health and reflection public by default',
      env: { MERCHANTS_JSON, CALLERS_JSON },
      actual: (c) => [c.callers.map((k) => [k.name, k.scopes.join(',')]), c.publicServices.length],
      expected: [[['gateway', 'notify']], 3],
    },
    {
      name: 'AUTH_PUBLIC_SERVICES=none puts health and reflection behind tokens too',
      env: { MERCHANTS_JSON, CALLERS_JSON, AUTH_PUBLIC_SERVICES: 'none' },
      actual: (c) => c.publicServices,
      expected: [],
    },
    {
      name: 'a caller token from a file',
      env: {
        MERCHANTS_JSON,
        CALLERS_JSON: JSON.stringify([{ name: 'svc', token_file: '/run/token', scopes: ['orders', 'events'] }]),
      },
      files: { '/run/token': 'file-token-0123456789abcdefgh\n' },
      actual: (c) => c.callers[0]?.token,
      expected: 'file-token-0123456789abcdefgh',
    },
    {
      name: 'production with a real key',
      env: { PAYMENT_CALLBACK_ENV: 'production', MERCHANTS_JSON, CALLERS_JSON },
      actual: (c) => c.env,
      expected: 'production',
    },
  ];
  for (const c of cases)
    test(c.name, () =>
      assert.deepEqual(c.actual(readCoreConfig({ AUTH_DISABLED: 'true', ...c.env }, fakeFiles(c.files))), c.expected),
    );
});

describe('readCoreConfig: problems, all reported at once', () => {
  const demoMerchant = JSON.stringify([
    { mch_id: DEMO_MERCHANT.mchId, appids: [DEMO_MERCHANT.appid], api_key: DEMO_MERCHANT.apiKey },
  ]);
  const cases: ReadonlyArray<{ name: string; env: Env; files?: Record<string, string>; problems: readonly RegExp[] }> =
    [
      {
        name: 'three problems -> three entries',
        env: { MERCHANTS_JSON, GRPC_LISTEN: 'nowhere', LOCK_TTL_MS: 'soon', DATABASE_URL: 'mongodb://db/pay' },
        problems: [/^GRPC_LISTEN=nowhere/, /^LOCK_TTL_MS=soon/, /^DATABASE_URL=mongodb:\/\/db\/pay must start with/],
      },
      {
        name: 'no merchants and a bad GRPC_LISTEN -> both reported',
        env: { GRPC_LISTEN: 'nowhere' },
        problems: [/^GRPC_LISTEN=nowhere/, /no merchants configured/],
      },
      {
        name: 'no merchants at all',
        env: {},
        problems: [/no merchants configured: set MERCHANTS_FILE or MERCHANTS_JSON/],
      },
      {
        name: 'production + the public demo key is refused',
        env: { PAYMENT_CALLBACK_ENV: 'production', MERCHANTS_JSON: demoMerchant, CALLERS_JSON },
        problems: [
          /^MERCHANTS_JSON entry #1 \(mch_id 10000100\): api_key is the public demo API key from WeChat Pay's v2 documentation.*PAYMENT_CALLBACK_ENV=production/,
        ],
      },
      {
        name: 'PAYMENT_CALLBACK_ENV=staging',
        env: { PAYMENT_CALLBACK_ENV: 'staging', MERCHANTS_JSON },
        problems: [/^PAYMENT_CALLBACK_ENV=staging must be one of development, production/],
      },
      {
        name: 'the same mch_id twice',
        env: { MERCHANTS_JSON: JSON.stringify([merchantA, { ...merchantB, mch_id: merchantA.mch_id }]) },
        problems: [/mch_id 1900000001 is configured twice/],
      },
      {
        name: 'a 31-character key',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: KEY_A.slice(1) }]) },
        problems: [/entry #1 \(mch_id 1900000001\): the API key must be 32 letters or digits \(it has 31 characters\)/],
      },
      {
        name: 'a 33-character key',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: `${KEY_A}0` }]) },
        problems: [/the API key must be 32 letters or digits \(it has 33 characters\)/],
      },
      {
        name: 'a key with a character that is not a letter or digit',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: `${KEY_A.slice(1)}-` }]) },
        problems: [/the API key must be 32 letters or digits/],
      },
      {
        name: 'api_key and api_key_file both set',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key_file: '/k' }]) },
        problems: [/set exactly one of api_key, api_key_env, api_key_file/],
      },
      {
        name: 'no key at all',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined }]) },
        problems: [/set exactly one of api_key, api_key_env, api_key_file/],
      },
      {
        name: 'api_key_env names a variable that is not set',
        env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_env: 'WXPAY_KEY_A' }]) },
        problems: [/api_key_env names WXPAY_KEY_A, which is not set/],
      },
      {
        name: 'api_key_file that cannot be read',
        env: {
          MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_file: '/run/secrets/missing' }]),
        },
        problems: [/api_key_file \/run\/secrets\/missing cannot be read/],
      },
      {
        name: 'MERCHANTS_FILE that cannot be read',
        env: { MERCHANTS_FILE: '/etc/pay/missing.json' },
        problems: [/^MERCHANTS_FILE \/etc\/pay\/missing.json cannot be read/],
      },
      {
        name: 'MERCHANTS_JSON that is not JSON',
        env: { MERCHANTS_JSON: '[{' },
        problems: [/^MERCHANTS_JSON is not valid JSON/],
      },
      {
        name: 'MERCHANTS_JSON that is neither an array nor {merchants}',
        env: { MERCHANTS_JSON: '{"mch_id":"1"}' },
        problems: [/must be a JSON array or \{"merchants": \[\.\.\.\]\}/],
      },
      {
        name: 'production without callers',
        env: { PAYMENT_CALLBACK_ENV: 'production', MERCHANTS_JSON },
        problems: [/production needs CALLERS_FILE or CALLERS_JSON/],
      },
      {
        name: 'production without callers, even with AUTH_DISABLED=true',
        env: { PAYMENT_CALLBACK_ENV: 'production', MERCHANTS_JSON, AUTH_DISABLED: 'true' },
        problems: [/production needs CALLERS_FILE or CALLERS_JSON/],
      },
      {
        name: 'no callers and authentication not explicitly disabled',
        env: { MERCHANTS_JSON, AUTH_DISABLED: 'false' },
        problems: [/no callers configured: set CALLERS_FILE or CALLERS_JSON, or AUTH_DISABLED=true/],
      },
      {
        name: 'AUTH_PUBLIC_SERVICES opening the payment API',
        env: { MERCHANTS_JSON, AUTH_PUBLIC_SERVICES: 'payment.callback.v1.PaymentCallback' },
        problems: [/payment.callback.v1.PaymentCallback always needs a token/],
      },
      {
        name: 'a caller with an unknown scope and a short token -> two entries',
        env: {
          MERCHANTS_JSON,
          CALLERS_JSON: JSON.stringify([{ name: 'svc', token: 'short', scopes: ['everything'] }]),
        },
        problems: [
          /the token must be 24 to 256 printable characters/,
          /scope "everything" must be one of notify, orders, events, queries, anomalies/,
        ],
      },
      {
        name: 'two callers sharing a token',
        env: {
          MERCHANTS_JSON,
          CALLERS_JSON: JSON.stringify([
            { name: 'a', token: TOKEN, scopes: ['orders'] },
            { name: 'b', token: TOKEN, scopes: ['events'] },
          ]),
        },
        problems: [/two callers share a token/],
      },
      {
        name: 'a TLS certificate without its key',
        env: { MERCHANTS_JSON, GRPC_TLS_CERT_FILE: '/tls/cert.pem' },
        files: { '/tls/cert.pem': 'PEM' },
        problems: [/GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE go together/],
      },
      {
        name: 'a merchant with a bad mch_id, no appids and sign_type SHA1 -> three entries',
        env: { MERCHANTS_JSON: JSON.stringify([{ mch_id: 'abc', appids: [], api_key: KEY_A, sign_types: ['SHA1'] }]) },
        problems: [
          /mch_id must be a string of digits/,
          /appids must be a non-empty array/,
          /sign_types entry "SHA1" must be one of MD5, HMAC-SHA256/,
        ],
      },
      {
        name: 'LOCK_TTL_MS below 1000',
        env: { MERCHANTS_JSON, LOCK_TTL_MS: '999' },
        problems: [/^LOCK_TTL_MS=999 must be a whole number from 1000 to 600000/],
      },
      {
        name: 'LOCK_TTL_MS above 600000',
        env: { MERCHANTS_JSON, LOCK_TTL_MS: '600001' },
        problems: [/^LOCK_TTL_MS=600001/],
      },
      { name: 'LOCK_TTL_MS=1e4', env: { MERCHANTS_JSON, LOCK_TTL_MS: '1e4' }, problems: [/^LOCK_TTL_MS=1e4/] },
      { name: 'LOCK_TTL_MS=-1', env: { MERCHANTS_JSON, LOCK_TTL_MS: '-1' }, problems: [/^LOCK_TTL_MS=-1/] },
      {
        name: 'LOCK_WAIT_MS equal to LOCK_TTL_MS',
        env: { MERCHANTS_JSON, LOCK_TTL_MS: '5000', LOCK_WAIT_MS: '5000' },
        problems: [/^LOCK_WAIT_MS \(5000\) must be below LOCK_TTL_MS \(5000\)/],
      },
      {
        name: 'LOCK_WAIT_MS above LOCK_TTL_MS',
        env: { MERCHANTS_JSON, LOCK_TTL_MS: '2000', LOCK_WAIT_MS: '3000' },
        problems: [/^LOCK_WAIT_MS \(3000\) must be below LOCK_TTL_MS \(2000\)/],
      },
      {
        name: 'LOCK_WAIT_MS above the default LOCK_TTL_MS',
        env: { MERCHANTS_JSON, LOCK_WAIT_MS: '10000' },
        problems: [/^LOCK_WAIT_MS \(10000\) must be below LOCK_TTL_MS \(10000\)/],
      },
      {
        name: 'an unknown DATABASE_URL scheme',
        env: { MERCHANTS_JSON, DATABASE_URL: 'mongodb://db/pay' },
        problems: [/must start with sqlite:, postgres:\/\/ or mysql:\/\//],
      },
      {
        name: 'DATABASE_URL=sqlite: without a file',
        env: { MERCHANTS_JSON, DATABASE_URL: 'sqlite:' },
        problems: [/needs a file name/],
      },
      {
        name: 'the same Redis node twice',
        env: { MERCHANTS_JSON, REDIS_URLS: 'redis://r1:6379,redis://r1:6379' },
        problems: [/REDIS_URLS lists the same node twice/],
      },
      {
        name: 'a Redis URL that is not redis://',
        env: { MERCHANTS_JSON, REDIS_URLS: 'http://r1:6379' },
        problems: [/REDIS_URLS entry http:\/\/r1:6379 must be redis:\/\/host:port/],
      },
      {
        name: 'METRICS_LISTEN neither host:port nor off',
        env: { MERCHANTS_JSON, METRICS_LISTEN: 'no' },
        problems: [/^METRICS_LISTEN=no must be host:port/],
      },
      {
        name: 'GRPC_LISTEN with port 65536',
        env: { MERCHANTS_JSON, GRPC_LISTEN: '127.0.0.1:65536' },
        problems: [/^GRPC_LISTEN=127.0.0.1:65536/],
      },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(() => readCoreConfig({ AUTH_DISABLED: 'true', ...c.env }, fakeFiles(c.files)));
      assert.equal(problems.length, c.problems.length, `problems: ${JSON.stringify(problems, null, 2)}`);
      for (const re of c.problems)
        assert.ok(
          problems.some((p) => re.test(p)),
          `no problem matches ${re}: ${JSON.stringify(problems, null, 2)}`,
        );
    });
  }
});

describe('readCoreConfig: a refused secret is never echoed', () => {
  const SHORT = KEY_A.slice(1);
  const DB_PASSWORD = 'Sup3rS3cretDbPw';
  const cases: ReadonlyArray<{ name: string; env: Env; files?: Record<string, string>; secret: string }> = [
    {
      name: 'a key one character short',
      env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: SHORT }]) },
      secret: SHORT,
    },
    {
      name: 'a key one character long',
      env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: `${KEY_A}9` }]) },
      secret: `${KEY_A}9`,
    },
    {
      name: 'a key with a dash',
      env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: `${SHORT}-` }]) },
      secret: `${SHORT}-`,
    },
    {
      name: 'a bad key read through api_key_env',
      env: {
        MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_env: 'WXPAY_KEY_A' }]),
        WXPAY_KEY_A: SHORT,
      },
      secret: SHORT,
    },
    {
      name: 'a bad key read through api_key_file',
      env: { MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: undefined, api_key_file: '/k' }]) },
      files: { '/k': SHORT },
      secret: SHORT,
    },
    {
      name: 'the demo key refused in production',
      env: {
        PAYMENT_CALLBACK_ENV: 'production',
        MERCHANTS_JSON: JSON.stringify([{ ...merchantA, api_key: DEMO_MERCHANT.apiKey }]),
      },
      secret: DEMO_MERCHANT.apiKey,
    },
    {
      name: 'MERCHANTS_JSON that is not JSON because the key is unquoted',
      env: { MERCHANTS_JSON: `[{"mch_id":"1900000001","appids":["wx1234567890abcdef"],"api_key":${KEY_A}}]` },
      secret: KEY_A,
    },
    {
      name: 'MERCHANTS_FILE that is not JSON because the key is unquoted',
      env: { MERCHANTS_FILE: '/etc/pay/merchants.json' },
      files: {
        '/etc/pay/merchants.json': `[{"mch_id":"1900000001","appids":["wx1234567890abcdef"],"api_key":${KEY_A}}]`,
      },
      secret: KEY_A,
    },
    {
      name: 'the password of an unsupported DATABASE_URL',
      env: { MERCHANTS_JSON, DATABASE_URL: `mongodb://pay:${DB_PASSWORD}@db/pay` },
      secret: DB_PASSWORD,
    },
    {
      name: 'the password of a bad REDIS_URLS entry',
      env: { MERCHANTS_JSON, REDIS_URLS: `http://:${DB_PASSWORD}@r1:6379` },
      secret: DB_PASSWORD,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(() => readCoreConfig({ AUTH_DISABLED: 'true', ...c.env }, fakeFiles(c.files)));
      const text = problems.join('\n');
      // Not the secret, and not a recognisable piece of it either.
      for (let i = 0; i + 8 <= c.secret.length; i++) {
        const piece = c.secret.slice(i, i + 8);
        assert.ok(!text.includes(piece), `the problems contain "${piece}", part of the secret:\n${text}`);
      }
    });
  }
});

describe('readCoreConfig: DATABASE_URL is redacted for logs', () => {
  const cases: ReadonlyArray<{ name: string; url: string; redacted: string }> = [
    {
      name: 'postgres with a password',
      url: 'postgres://pay:s3cret@db:5432/pay',
      redacted: 'postgres://pay:***@db:5432/pay',
    },
    {
      name: 'postgresql with a password and options',
      url: 'postgresql://pay:s3cret@db/pay?sslmode=require',
      redacted: 'postgresql://pay:***@db/pay?sslmode=require',
    },
    { name: 'mysql with a password', url: 'mysql://pay:s3cret@db:3306/pay', redacted: 'mysql://pay:***@db:3306/pay' },
    {
      name: 'mariadb with a password (shown as given)',
      url: 'mariadb://pay:s3cret@db:3306/pay',
      redacted: 'mariadb://pay:***@db:3306/pay',
    },
    {
      name: 'a percent-encoded password',
      url: 'postgres://pay:p%40ss%2Fw0rd@db/pay',
      redacted: 'postgres://pay:***@db/pay',
    },
    { name: 'a password with a colon', url: 'postgres://pay:a:b:c@db/pay', redacted: 'postgres://pay:***@db/pay' },
    {
      name: 'a password in the query string',
      url: 'postgres://pay@db/pay?sslmode=require&password=s3cret',
      redacted: 'postgres://pay@db/pay?sslmode=require&password=***',
    },
    { name: 'an empty user name', url: 'postgres://:s3cret@db/pay', redacted: 'postgres://:***@db/pay' },
    // pg reads this URL with the password "p@ssw0rd" (the last @ ends the user info).
    {
      name: 'a password with an unencoded @',
      url: 'postgres://pay:p@ssw0rd@db:5432/pay',
      redacted: 'postgres://pay:***@db:5432/pay',
    },
    { name: 'no password: unchanged', url: 'postgres://pay@db/pay', redacted: 'postgres://pay@db/pay' },
    { name: 'no user info: unchanged', url: 'postgres://db/pay', redacted: 'postgres://db/pay' },
    { name: 'sqlite: unchanged', url: 'sqlite:data/x.sqlite', redacted: 'sqlite:data/x.sqlite' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const config = readCoreConfig({ MERCHANTS_JSON, AUTH_DISABLED: 'true', DATABASE_URL: c.url }, fakeFiles());
      assert.equal(config.database.redactedUrl, c.redacted);
    });
  }
});

describe('readGatewayConfig: defaults', () => {
  const config = (): GatewayConfig => readGatewayConfig({});
  const cases: ReadonlyArray<{ name: string; actual: (c: GatewayConfig) => unknown; expected: unknown }> = [
    { name: 'listens on 127.0.0.1:8080', actual: (c) => c.listen, expected: { host: '127.0.0.1', port: 8080 } },
    { name: 'notifications on /wxpay/notify', actual: (c) => c.notifyPath, expected: '/wxpay/notify' },
    { name: 'the core at 127.0.0.1:50051', actual: (c) => c.coreTarget, expected: '127.0.0.1:50051' },
    { name: 'core deadline 3000 ms', actual: (c) => c.coreDeadlineMs, expected: 3_000 },
    { name: 'body limit 65536 bytes', actual: (c) => c.bodyLimitBytes, expected: 65_536 },
    {
      name: 'trusts only loopback proxies',
      actual: (c) => c.trustedProxies,
      expected: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.actual(config()), c.expected));
});

describe("readGatewayConfig: CORE_DEADLINE_MS stays under WeChat's 5 s", () => {
  const cases: ReadonlyArray<{ value: string; accepted: boolean }> = [
    { value: '100', accepted: true },
    { value: '4500', accepted: true },
    { value: '99', accepted: false },
    { value: '4501', accepted: false },
    { value: '5000', accepted: false },
    { value: '10000', accepted: false },
    { value: '3s', accepted: false },
  ];
  for (const c of cases) {
    test(`CORE_DEADLINE_MS=${c.value} ${c.accepted ? 'accepted' : 'rejected'}`, () => {
      if (c.accepted) {
        assert.equal(readGatewayConfig({ CORE_DEADLINE_MS: c.value }).coreDeadlineMs, Number(c.value));
      } else {
        const problems = problemsOf(() => readGatewayConfig({ CORE_DEADLINE_MS: c.value }));
        assert.equal(problems.length, 1);
        assert.match(
          problems[0] ?? '',
          new RegExp(`^CORE_DEADLINE_MS=${c.value} must be a whole number from 100 to 4500`),
        );
      }
    });
  }
});

describe('readGatewayConfig: problems, all reported at once', () => {
  const cases: ReadonlyArray<{ name: string; env: Env; problems: readonly RegExp[] }> = [
    {
      name: 'a NOTIFY_PATH that is not a path',
      env: { NOTIFY_PATH: 'wxpay notify' },
      problems: [/^NOTIFY_PATH=wxpay notify must be a path/],
    },
    {
      name: 'a CORE_GRPC_TARGET with a space',
      env: { CORE_GRPC_TARGET: 'core :50051' },
      problems: [/CORE_GRPC_TARGET must not contain spaces/],
    },
    { name: 'BODY_LIMIT_BYTES below 1024', env: { BODY_LIMIT_BYTES: '100' }, problems: [/^BODY_LIMIT_BYTES=100/] },
    {
      name: 'three problems -> three entries',
      env: { GATEWAY_LISTEN: 'nowhere', CORE_DEADLINE_MS: '5000', LOG_LEVEL: 'loud' },
      problems: [/^GATEWAY_LISTEN=nowhere/, /^CORE_DEADLINE_MS=5000/, /^LOG_LEVEL=loud/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(() => readGatewayConfig(c.env));
      assert.equal(problems.length, c.problems.length, `problems: ${JSON.stringify(problems, null, 2)}`);
      for (const re of c.problems)
        assert.ok(
          problems.some((p) => re.test(p)),
          `no problem matches ${re}: ${JSON.stringify(problems, null, 2)}`,
        );
    });
  }
});
