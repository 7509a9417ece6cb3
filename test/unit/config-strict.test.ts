// Strict configuration, failing closed (src/config.ts, src/config/): unknown keys in the
// merchants and callers files, unknown PAYMENT_CALLBACK_* variables, public example keys in any
// key slot in production, a rotation overlap of at most 7 days, callers' mch_ids and
// EVENTS_MAX_STREAMS_PER_CALLER. One table per rule; each refusal shows the exact message.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  callerMerchantProblems,
  MAX_PREVIOUS_KEY_OVERLAP_MS,
  readCoreConfig,
  readMerchantsConfig,
  type CoreConfig,
} from '../../src/config';
import { ConfigError } from '../../src/env-reader';

type Env = Record<string, string | undefined>;

const NOW = new Date('2026-11-27T04:00:00Z');
const KEY_A = 'Abcdefghijklmnopqrstuvwxyz012345';
const KEY_OLD = 'Old0efghijklmnopqrstuvwxyz012345';
const V3_KEY = 'ApiV3Key0123456789abcdefghijklmn';
const TOKEN = 'gateway-token-0123456789abcdef';
const DEMO_KEY = '192006250b4c09247ec02edce69f6a2d';
const REFUND_VECTOR_KEY = 'ziR0QKsTUfMOuochC9RfCdmfHECorQAP';
const PUBLIC_PEM = '-----BEGIN PUBLIC KEY-----\nnot read: the public key check comes first\n-----END PUBLIC KEY-----\n';

const merchant = { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: KEY_A };
const provider = {
  mch_id: '1230000109',
  appids: ['wx2234567890abcdef'],
  api_key: 'Z9x8c7v6b5n4m3a2s1d0f9g8h7j6k5l4',
  sub_mch_ids: ['1900000109'],
};
const caller = { name: 'order-service', token: TOKEN, scopes: ['orders', 'events'] };
const M1 = 'MERCHANTS_JSON entry #1 (mch_id 1900000001)';
const C1 = 'CALLERS_JSON entry #1 (name order-service)';
const FILES: Record<string, string> = { '/keys/demo': `${DEMO_KEY}\n`, '/keys/refund-vector': REFUND_VECTOR_KEY };

function fakeFiles(files: Record<string, string> = FILES): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

const config = (env: Env, now = NOW): CoreConfig => readCoreConfig({ AUTH_DISABLED: 'true', ...env }, fakeFiles(), now);

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('unknown keys in the merchants file: refused at start-up and at reload, naming the key and the entry', () => {
  const cases: ReadonlyArray<{ name: string; json: unknown; problems: readonly string[] }> = [
    {
      name: "mch_ids in a merchant (a caller's key)",
      json: [{ ...merchant, mch_ids: ['1900000001'] }],
      problems: [`${M1}: unknown key "mch_ids" (did you mean "mch_id"?)`],
    },
    {
      name: 'a misspelt api_key_file',
      json: [{ ...merchant, api_key: undefined, api_key_flie: '/keys/a' }],
      problems: [
        `${M1}: unknown key "api_key_flie" (did you mean "api_key_file"?)`,
        `${M1}: set exactly one of api_key, api_key_env, api_key_file`,
      ],
    },
    {
      name: 'signtypes for sign_types',
      json: [{ ...merchant, signtypes: ['HMAC-SHA256'] }],
      problems: [`${M1}: unknown key "signtypes" (did you mean "sign_types"?)`],
    },
    {
      name: 'previous_api_key_valid_till',
      json: [{ ...merchant, previous_api_key_valid_till: '2026-11-28T00:00:00Z' }],
      problems: [`${M1}: unknown key "previous_api_key_valid_till" (did you mean "previous_api_key_valid_until"?)`],
    },
    {
      name: 'a key nothing resembles: every allowed key is listed',
      json: [{ ...merchant, region: 'cn' }],
      problems: [
        `${M1}: unknown key "region"; a merchant takes only _comment, mch_id, appids, api_key, api_key_env, api_key_file, sign_types, ` +
          'previous_api_key, previous_api_key_env, previous_api_key_file, previous_api_key_valid_until, apiv3_key, apiv3_key_env, apiv3_key_file, ' +
          'platform_certificates, wechatpay_public_keys, sub_mch_ids, confirm_refunds_with_query',
      ],
    },
    {
      name: 'inside a WeChat Pay public key',
      json: [
        {
          ...merchant,
          apiv3_key: V3_KEY,
          wechatpay_public_keys: [{ id: 'PUB_KEY_ID_0114232134912410000000000000', pem: PUBLIC_PEM, serial: 'x' }],
        },
      ],
      problems: [`${M1}: unknown key "serial" in wechatpay_public_keys[0]; it takes only id, pem, pem_file`],
    },
    {
      name: 'the second entry, named by its mch_id',
      json: [merchant, { ...provider, sub_mchids: ['1900000110'] }],
      problems: ['MERCHANTS_JSON entry #2 (mch_id 1230000109): unknown key "sub_mchids" (did you mean "sub_mch_ids"?)'],
    },
    {
      name: 'an entry whose mch_id is not digits is named by its number only',
      json: [{ ...merchant, mch_id: 'x', mchid: '1' }],
      problems: [
        'MERCHANTS_JSON entry #1: mch_id must be a string of digits',
        'MERCHANTS_JSON entry #1: unknown key "mchid" (did you mean "mch_id"?)',
      ],
    },
    {
      name: 'at the top level',
      json: { comment: 'x', merchants: [merchant] },
      problems: ['MERCHANTS_JSON (top level): unknown key "comment" (did you mean "_comment"?)'],
    },
    {
      name: 'a top level without "merchants"',
      json: { merchant: [merchant] },
      problems: [
        'MERCHANTS_JSON must be a JSON array or {"merchants": [...]} (it has "merchant": did you mean "merchants"?)',
      ],
    },
    {
      name: '"$schema" that is not a string',
      json: { $schema: 1, merchants: [merchant] },
      problems: ['MERCHANTS_JSON (top level): "$schema" must be a string: the path or URL of the JSON Schema'],
    },
  ];
  for (const c of cases) {
    test(`${c.name} (start-up)`, () =>
      assert.deepEqual(
        problemsOf(() => config({ MERCHANTS_JSON: JSON.stringify(c.json) })),
        c.problems,
      ));
    test(`${c.name} (reload)`, () =>
      assert.deepEqual(
        problemsOf(() => readMerchantsConfig({ MERCHANTS_JSON: JSON.stringify(c.json) }, fakeFiles(), NOW)),
        c.problems,
      ));
  }
  test('"$schema" and "_comment" are allowed (the example files carry them)', () => {
    const json = {
      $schema: './merchants.schema.json',
      _comment: 'the shop',
      merchants: [{ ...merchant, _comment: 'the main account' }],
    };
    assert.deepEqual(
      config({ MERCHANTS_JSON: JSON.stringify(json) }).merchants.map((m) => m.mchId),
      ['1900000001'],
    );
  });
});

describe('unknown keys in the callers file: refused, naming the key and the entry', () => {
  const merchants = JSON.stringify([merchant]);
  const cases: ReadonlyArray<{ name: string; json: unknown; problems: readonly string[] }> = [
    // The one that matters: a misspelt mch_ids must not leave the caller with every merchant.
    {
      name: 'mch_id instead of mch_ids',
      json: [{ ...caller, mch_id: '1900000001' }],
      problems: [`${C1}: unknown key "mch_id" (did you mean "mch_ids"?)`],
    },
    {
      name: 'merchant_ids',
      json: [{ ...caller, merchant_ids: ['1900000001'] }],
      problems: [
        `${C1}: unknown key "merchant_ids"; a caller takes only _comment, name, token, token_env, token_file, scopes, mch_ids`,
      ],
    },
    {
      name: 'scope instead of scopes',
      json: [{ ...caller, scopes: undefined, scope: ['orders'] }],
      problems: [
        `${C1}: scopes must be a non-empty array of notify, orders, events, queries, anomalies`,
        `${C1}: unknown key "scope" (did you mean "scopes"?)`,
      ],
    },
    {
      name: 'token_flie',
      json: [{ ...caller, token: undefined, token_flie: '/run/token' }],
      problems: [
        `${C1}: unknown key "token_flie" (did you mean "token_file"?)`,
        `${C1}: set exactly one of token, token_env, token_file`,
      ],
    },
    {
      name: 'at the top level',
      json: { callers: [caller], $schema: './callers.schema.json', version: 2 },
      problems: [
        'CALLERS_JSON (top level): unknown key "version"; the top level takes only $schema, _comment, callers',
      ],
    },
  ];
  for (const c of cases)
    test(c.name, () =>
      assert.deepEqual(
        problemsOf(() => config({ MERCHANTS_JSON: merchants, CALLERS_JSON: JSON.stringify(c.json) })),
        c.problems,
      ),
    );
});

describe('unknown PAYMENT_CALLBACK_* variables: refused at start-up', () => {
  const MERCHANTS_JSON = JSON.stringify([merchant]);
  const only =
    'the core reads only PAYMENT_CALLBACK_ENV under the PAYMENT_CALLBACK_ prefix: fix the name or remove the variable';
  const refused: ReadonlyArray<{ name: string; env: Env; problems: readonly string[] }> = [
    {
      name: 'PAYMENT_CALLBACK_ENVIRONMENT=production (would have left development on)',
      env: { PAYMENT_CALLBACK_ENVIRONMENT: 'production' },
      problems: [
        `PAYMENT_CALLBACK_ENVIRONMENT is not a setting of the core (did you mean PAYMENT_CALLBACK_ENV?); ${only}`,
      ],
    },
    {
      name: 'PAYMENT_CALLBACK_EVN',
      env: { PAYMENT_CALLBACK_EVN: 'production' },
      problems: [`PAYMENT_CALLBACK_EVN is not a setting of the core (did you mean PAYMENT_CALLBACK_ENV?); ${only}`],
    },
    {
      name: 'an empty one is refused too',
      env: { PAYMENT_CALLBACK_MODE: '' },
      problems: [`PAYMENT_CALLBACK_MODE is not a setting of the core; ${only}`],
    },
    {
      name: 'two: both, sorted, values never shown',
      env: { PAYMENT_CALLBACK_TOKEN: TOKEN, PAYMENT_CALLBACK_DEBUG: '1' },
      problems: [
        `PAYMENT_CALLBACK_DEBUG is not a setting of the core; ${only}`,
        `PAYMENT_CALLBACK_TOKEN is not a setting of the core; ${only}`,
      ],
    },
  ];
  for (const c of refused)
    test(c.name, () =>
      assert.deepEqual(
        problemsOf(() => config({ MERCHANTS_JSON, ...c.env })),
        c.problems,
      ),
    );

  const accepted: ReadonlyArray<{ name: string; env: Env }> = [
    { name: 'PAYMENT_CALLBACK_ENV itself', env: { MERCHANTS_JSON, PAYMENT_CALLBACK_ENV: 'development' } },
    {
      name: 'a variable the merchants file names in api_key_env',
      env: {
        MERCHANTS_JSON: JSON.stringify([
          { ...merchant, api_key: undefined, api_key_env: 'PAYMENT_CALLBACK_KEY_1900000001' },
        ]),
        PAYMENT_CALLBACK_KEY_1900000001: KEY_A,
      },
    },
    {
      name: 'a variable the callers file names in token_env',
      env: {
        MERCHANTS_JSON,
        CALLERS_JSON: JSON.stringify([{ ...caller, token: undefined, token_env: 'PAYMENT_CALLBACK_ORDER_TOKEN' }]),
        PAYMENT_CALLBACK_ORDER_TOKEN: TOKEN,
      },
    },
    {
      // Kubernetes adds these for the Services payment-callback-core and payment-callback-gateway.
      name: "Kubernetes service links of the namespace's Services",
      env: {
        MERCHANTS_JSON,
        PAYMENT_CALLBACK_CORE_SERVICE_HOST: '10.96.0.10',
        PAYMENT_CALLBACK_CORE_SERVICE_PORT: '50051',
        PAYMENT_CALLBACK_CORE_SERVICE_PORT_GRPC: '50051',
        PAYMENT_CALLBACK_CORE_PORT: 'tcp://10.96.0.10:50051',
        PAYMENT_CALLBACK_CORE_PORT_50051_TCP: 'tcp://10.96.0.10:50051',
        PAYMENT_CALLBACK_CORE_PORT_50051_TCP_PROTO: 'tcp',
        PAYMENT_CALLBACK_CORE_PORT_50051_TCP_PORT: '50051',
        PAYMENT_CALLBACK_CORE_PORT_50051_TCP_ADDR: '10.96.0.10',
        PAYMENT_CALLBACK_GATEWAY_SERVICE_HOST: '10.96.0.11',
        PAYMENT_CALLBACK_SERVICE_HOST: '10.96.0.12',
        PAYMENT_CALLBACK_PORT: 'tcp://10.96.0.12:80',
      },
    },
    {
      name: "variables of other programs (PATH, HOME, the gateway's) are not checked",
      env: { MERCHANTS_JSON, PATH: '/usr/bin', HOME: '/nonexistent', CORE_TOKEN: TOKEN },
    },
  ];
  for (const c of accepted) test(`accepted: ${c.name}`, () => assert.equal(config(c.env).merchants.length, 1));

  test('a reload does not check variables: the environment is the one start-up checked', () => {
    assert.equal(
      readMerchantsConfig({ MERCHANTS_JSON, PAYMENT_CALLBACK_ENVIRONMENT: 'production' }, fakeFiles(), NOW).length,
      1,
    );
  });
});

describe('public example keys: refused in production in every key slot, accepted in development', () => {
  const v3 = { wechatpay_public_keys: [{ id: 'PUB_KEY_ID_0114232134912410000000000000', pem: PUBLIC_PEM }] };
  const demo = "the public demo API key from WeChat Pay's v2 documentation (config/demo-merchants.json)";
  const refundVector = 'the API key of the public v2 refund test data shared by open-source WeChat Pay SDKs';
  const refusal = (slot: string, verb: string, what: string): string =>
    `${M1}: ${slot} ${verb} ${what}; anyone can sign with it, so it cannot be used with ` +
    'PAYMENT_CALLBACK_ENV=production: set the key from the merchant platform (pay.weixin.qq.com)';
  const until = { previous_api_key_valid_until: '2026-11-28T00:00:00Z' };
  const cases: ReadonlyArray<{ slot: string; entry: Record<string, unknown>; env?: Env; problem: string }> = [
    { slot: 'api_key', entry: { ...merchant, api_key: DEMO_KEY }, problem: refusal('api_key', 'is', demo) },
    {
      slot: 'api_key_env',
      entry: { ...merchant, api_key: undefined, api_key_env: 'WXPAY_KEY' },
      env: { WXPAY_KEY: DEMO_KEY },
      problem: refusal('api_key_env', 'gives', demo),
    },
    {
      slot: 'api_key_file',
      entry: { ...merchant, api_key: undefined, api_key_file: '/keys/demo' },
      problem: refusal('api_key_file', 'gives', demo),
    },
    {
      slot: "api_key (the refund test data's key)",
      entry: { ...merchant, api_key: REFUND_VECTOR_KEY },
      problem: refusal('api_key', 'is', refundVector),
    },
    {
      slot: 'previous_api_key',
      entry: { ...merchant, previous_api_key: DEMO_KEY, ...until },
      problem: refusal('previous_api_key', 'is', demo),
    },
    {
      slot: 'previous_api_key_env',
      entry: { ...merchant, previous_api_key_env: 'WXPAY_OLD', ...until },
      env: { WXPAY_OLD: DEMO_KEY },
      problem: refusal('previous_api_key_env', 'gives', demo),
    },
    {
      slot: 'previous_api_key_file',
      entry: { ...merchant, previous_api_key_file: '/keys/refund-vector', ...until },
      problem: refusal('previous_api_key_file', 'gives', refundVector),
    },
    {
      slot: 'apiv3_key',
      entry: { ...merchant, ...v3, apiv3_key: DEMO_KEY },
      problem: refusal('apiv3_key', 'is', demo),
    },
    {
      slot: 'apiv3_key_env',
      entry: { ...merchant, ...v3, apiv3_key_env: 'WXPAY_V3' },
      env: { WXPAY_V3: REFUND_VECTOR_KEY },
      problem: refusal('apiv3_key_env', 'gives', refundVector),
    },
    {
      slot: 'apiv3_key_file',
      entry: { ...merchant, ...v3, apiv3_key_file: '/keys/demo' },
      problem: refusal('apiv3_key_file', 'gives', demo),
    },
  ];
  const callers = JSON.stringify([caller]);
  for (const c of cases) {
    test(`production: ${c.slot}`, () => {
      assert.deepEqual(
        problemsOf(() =>
          config({
            PAYMENT_CALLBACK_ENV: 'production',
            CALLERS_JSON: callers,
            MERCHANTS_JSON: JSON.stringify([c.entry]),
            ...c.env,
          }),
        ),
        [c.problem],
      );
    });
  }
  test('production: at reload too', () => {
    const entry = { ...merchant, previous_api_key: DEMO_KEY, ...until };
    assert.deepEqual(
      problemsOf(() =>
        readMerchantsConfig(
          { PAYMENT_CALLBACK_ENV: 'production', MERCHANTS_JSON: JSON.stringify([entry]) },
          fakeFiles(),
          NOW,
        ),
      ),
      [refusal('previous_api_key', 'is', demo)],
    );
  });
  test("the 16-byte APIv3 key of the Go SDK's test is refused in production by its length", () => {
    const entry = { ...merchant, ...v3, apiv3_key: 'testMchAPIv3Key0' };
    assert.deepEqual(
      problemsOf(() =>
        config({ PAYMENT_CALLBACK_ENV: 'production', CALLERS_JSON: callers, MERCHANTS_JSON: JSON.stringify([entry]) }),
      ),
      [`${M1}: the APIv3 key must be 32 printable ASCII characters (it has 16 characters)`],
    );
  });
  test('development accepts them (the demo merchant, the public test vectors)', () => {
    const entry = { ...merchant, api_key: DEMO_KEY, previous_api_key_file: '/keys/refund-vector', ...until };
    assert.equal(
      config({ MERCHANTS_JSON: JSON.stringify([entry]) }).merchants[0]?.previousApiKey?.key,
      REFUND_VECTOR_KEY,
    );
  });
});

describe('previous_api_key_valid_until: at most 7 days after start-up or reload', () => {
  const at = (ms: number): string => new Date(NOW.getTime() + ms).toISOString();
  const entry = (until: string): Record<string, unknown> => ({
    ...merchant,
    previous_api_key: KEY_OLD,
    previous_api_key_valid_until: until,
  });
  const beyond = (until: string, now = NOW): string =>
    `${M1}: previous_api_key_valid_until ${until} is more than 7 days after now (${now.toISOString()}); ` +
    'the previous key only bridges a rotation (WeChat retries for about a day), it is not a second permanent key: ' +
    'set a deadline at most 7 days ahead, and remove previous_api_key once it has passed';
  const cases: ReadonlyArray<{ name: string; until: string; now?: Date; problem?: string }> = [
    { name: 'one day ahead', until: at(86_400_000) },
    { name: 'exactly 7 days ahead', until: at(MAX_PREVIOUS_KEY_OVERLAP_MS) },
    { name: 'already passed (harmless: the key no longer verifies)', until: at(-86_400_000) },
    {
      name: '7 days and 1 ms ahead',
      until: at(MAX_PREVIOUS_KEY_OVERLAP_MS + 1),
      problem: beyond(at(MAX_PREVIOUS_KEY_OVERLAP_MS + 1)),
    },
    {
      name: 'a year ahead (a second permanent key)',
      until: '2027-11-27T04:00:00Z',
      problem: beyond('2027-11-27T04:00:00Z'),
    },
    {
      name: '8 days ahead, written with an offset',
      until: '2026-12-05T12:00:00+08:00',
      problem: beyond('2026-12-05T12:00:00+08:00'),
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.problem ? 'refused' : 'accepted'}`, () => {
      const env = { MERCHANTS_JSON: JSON.stringify([entry(c.until)]) };
      if (c.problem)
        assert.deepEqual(
          problemsOf(() => config(env)),
          [c.problem],
        );
      else assert.equal(config(env).merchants[0]?.previousApiKey?.validUntil.getTime(), new Date(c.until).getTime());
    });
  }
  test("measured from the reload's own time (the injected clock): 10 days ahead at start-up, 6 days ahead at a reload 4 days later", () => {
    const env = { MERCHANTS_JSON: JSON.stringify([entry(at(10 * 86_400_000))]) };
    assert.deepEqual(
      problemsOf(() => readMerchantsConfig(env, fakeFiles(), NOW)),
      [beyond(at(10 * 86_400_000))],
    );
    assert.equal(readMerchantsConfig(env, fakeFiles(), new Date(NOW.getTime() + 4 * 86_400_000)).length, 1);
  });
});

describe("callers' mch_ids: the merchants a caller may see and change", () => {
  const merchants = JSON.stringify([merchant, provider]);
  const callerWith = (extra: Record<string, unknown>): string => JSON.stringify([{ ...caller, ...extra }]);
  const accepted: ReadonlyArray<{
    name: string;
    extra: Record<string, unknown>;
    mchIds: readonly string[] | undefined;
  }> = [
    { name: 'absent: all merchants (no mchIds at all)', extra: {}, mchIds: undefined },
    { name: 'one merchant', extra: { mch_ids: ['1900000001'] }, mchIds: ['1900000001'] },
    {
      name: 'a provider and a merchant',
      extra: { mch_ids: ['1230000109', '1900000001'] },
      mchIds: ['1230000109', '1900000001'],
    },
    { name: "a provider's sub-merchant", extra: { mch_ids: ['1900000109'] }, mchIds: ['1900000109'] },
  ];
  for (const c of accepted) {
    test(`accepted: ${c.name}`, () => {
      const read = config({ MERCHANTS_JSON: merchants, CALLERS_JSON: callerWith(c.extra) }).callers[0];
      assert.deepEqual(read?.mchIds, c.mchIds);
      assert.equal(read !== undefined && 'mchIds' in read, c.mchIds !== undefined);
    });
  }
  const rule =
    'mch_ids must be a non-empty array of mch_id strings (digits): the merchants this caller may see and change; leave it out for all merchants';
  const refused: ReadonlyArray<{ name: string; extra: Record<string, unknown>; problems: readonly string[] }> = [
    { name: 'empty (would it mean none, or all?)', extra: { mch_ids: [] }, problems: [`${C1}: ${rule}`] },
    { name: 'a string, not an array', extra: { mch_ids: '1900000001' }, problems: [`${C1}: ${rule}`] },
    { name: 'a number in the array', extra: { mch_ids: [1900000001] }, problems: [`${C1}: ${rule}`] },
    { name: 'not digits', extra: { mch_ids: ['shop-1'] }, problems: [`${C1}: ${rule}`] },
    {
      name: 'the same merchant twice',
      extra: { mch_ids: ['1900000001', '1900000001'] },
      problems: [`${C1}: mch_ids lists the same merchant twice`],
    },
    {
      name: 'a merchant that is not configured',
      extra: { mch_ids: ['1900000001', '1900000009'] },
      problems: [
        `${C1}: mch_ids names 1900000009, which is not a configured merchant (an mch_id or sub_mch_id of MERCHANTS_FILE / MERCHANTS_JSON); fix the id, or configure the merchant first`,
      ],
    },
  ];
  for (const c of refused)
    test(`refused: ${c.name}`, () =>
      assert.deepEqual(
        problemsOf(() => config({ MERCHANTS_JSON: merchants, CALLERS_JSON: callerWith(c.extra) })),
        c.problems,
      ));

  test('a merchant entry with a problem of its own is still configured: only its own problem is reported', () => {
    const problems = problemsOf(() =>
      config({
        MERCHANTS_JSON: JSON.stringify([{ ...merchant, api_key: 'short' }]),
        CALLERS_JSON: callerWith({ mch_ids: ['1900000001'] }),
      }),
    );
    assert.deepEqual(problems, [`${M1}: the API key must be 32 letters or digits (it has 5 characters)`]);
  });
  test('after a merchants reload (callers are not reloaded): callerMerchantProblems names what the new merchants lack, for a warning', () => {
    const callers = config({
      MERCHANTS_JSON: merchants,
      CALLERS_JSON: callerWith({ mch_ids: ['1900000001', '1900000109'] }),
    }).callers;
    const reloaded = readMerchantsConfig({ MERCHANTS_JSON: JSON.stringify([provider]) }, fakeFiles(), NOW);
    assert.deepEqual(callerMerchantProblems(callers, reloaded), [
      'caller order-service: mch_ids names 1900000001, which no configured merchant has; it sees nothing of it',
    ]);
    assert.deepEqual(
      callerMerchantProblems(callers, readMerchantsConfig({ MERCHANTS_JSON: merchants }, fakeFiles(), NOW)),
      [],
    );
  });
});

describe('EVENTS_MAX_STREAMS_PER_CALLER: a whole number from 1 to 10000, default 16', () => {
  const MERCHANTS_JSON = JSON.stringify([merchant]);
  const cases: ReadonlyArray<{ value: string | undefined; expected: number | string }> = [
    { value: undefined, expected: 16 },
    { value: '', expected: 16 },
    { value: '1', expected: 1 },
    { value: '10000', expected: 10_000 },
    { value: '0', expected: 'EVENTS_MAX_STREAMS_PER_CALLER=0 must be a whole number from 1 to 10000' },
    { value: '10001', expected: 'EVENTS_MAX_STREAMS_PER_CALLER=10001 must be a whole number from 1 to 10000' },
    { value: '-1', expected: 'EVENTS_MAX_STREAMS_PER_CALLER=-1 must be a whole number from 1 to 10000' },
    { value: '1.5', expected: 'EVENTS_MAX_STREAMS_PER_CALLER=1.5 must be a whole number from 1 to 10000' },
    { value: 'lots', expected: 'EVENTS_MAX_STREAMS_PER_CALLER=lots must be a whole number from 1 to 10000' },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.value)} -> ${c.expected}`, () => {
      const env = { MERCHANTS_JSON, EVENTS_MAX_STREAMS_PER_CALLER: c.value };
      if (typeof c.expected === 'number') assert.equal(config(env).events.maxStreamsPerCaller, c.expected);
      else
        assert.deepEqual(
          problemsOf(() => config(env)),
          [c.expected],
        );
    });
  }
});
