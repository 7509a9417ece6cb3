// Reconciliation's settings (src/config.ts readReconcile, through readCoreConfig): off by default
// with WeChat's API and the documented schedule, and every inconsistent combination refused.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CORE_ENV_VARS, readCoreConfig, type ReconcileConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';

const MERCHANTS_JSON = JSON.stringify([
  { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: 'Abcdefghijklmnopqrstuvwxyz012345' },
]);
const reconcile = (env: Record<string, string> = {}): ReconcileConfig =>
  readCoreConfig({ MERCHANTS_JSON, AUTH_DISABLED: 'true', ...env }, () => '').reconcile;

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    readCoreConfig({ MERCHANTS_JSON, AUTH_DISABLED: 'true', ...env }, () => '');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('readCoreConfig: reconciliation settings', () => {
  test('defaults: off, WeChat production API, 5 min then 5 min doubling to 1 h, give up at 24 h, 5 queries/s', () => {
    assert.deepEqual(reconcile(), {
      enabled: false,
      apiBase: 'https://api.mch.weixin.qq.com',
      afterMs: 300_000,
      backoffMs: 300_000,
      backoffMaxMs: 3_600_000,
      giveUpMs: 86_400_000,
      maxQps: 5,
      sweepIntervalMs: 30_000,
      leaseMs: 90_000,
      batchSize: 200,
      timeoutMs: 5_000,
    });
  });

  const accepted: ReadonlyArray<{
    name: string;
    env: Record<string, string>;
    pick: (c: ReconcileConfig) => unknown;
    expected: unknown;
  }> = [
    { name: 'RECONCILE_ENABLED=true', env: { RECONCILE_ENABLED: 'true' }, pick: (c) => c.enabled, expected: true },
    {
      name: 'the backup domain, trailing slash dropped',
      env: { WECHATPAY_API_BASE: 'https://api2.mch.weixin.qq.com/' },
      pick: (c) => c.apiBase,
      expected: 'https://api2.mch.weixin.qq.com',
    },
    {
      name: 'http:// to a loopback stand-in',
      env: { WECHATPAY_API_BASE: 'http://127.0.0.1:8123' },
      pick: (c) => c.apiBase,
      expected: 'http://127.0.0.1:8123',
    },
    {
      name: 'a tighter schedule',
      env: { RECONCILE_AFTER_MS: '60000', RECONCILE_BACKOFF_MS: '60000', RECONCILE_BACKOFF_MAX_MS: '600000' },
      pick: (c) => [c.afterMs, c.backoffMs, c.backoffMaxMs],
      expected: [60_000, 60_000, 600_000],
    },
  ];
  for (const c of accepted) test(c.name, () => assert.deepEqual(c.pick(reconcile(c.env)), c.expected));

  const refused: ReadonlyArray<{ name: string; env: Record<string, string>; problem: RegExp }> = [
    {
      name: 'RECONCILE_ENABLED=yes',
      env: { RECONCILE_ENABLED: 'yes' },
      problem: /RECONCILE_ENABLED=yes must be one of true, false/,
    },
    {
      name: 'plain http to a remote host',
      env: { WECHATPAY_API_BASE: 'http://api.mch.weixin.qq.com' },
      problem: /must be an https:\/\//,
    },
    { name: 'not a URL', env: { WECHATPAY_API_BASE: 'api.mch.weixin.qq.com' }, problem: /is not a URL/ },
    {
      name: 'credentials in the URL',
      env: { WECHATPAY_API_BASE: 'https://u:p@api.mch.weixin.qq.com' },
      problem: /without query or credentials/,
    },
    {
      name: 'http:// in production',
      env: { PAYMENT_CALLBACK_ENV: 'production', WECHATPAY_API_BASE: 'http://127.0.0.1:8123' },
      problem: /production needs an https:\/\/ WECHATPAY_API_BASE/,
    },
    {
      name: 'a cap below the first backoff',
      env: { RECONCILE_BACKOFF_MS: '600000', RECONCILE_BACKOFF_MAX_MS: '300000' },
      problem: /RECONCILE_BACKOFF_MAX_MS \(300000\) must be at least RECONCILE_BACKOFF_MS/,
    },
    {
      name: 'giving up before the first query',
      env: { RECONCILE_AFTER_MS: '7200000', RECONCILE_GIVE_UP_MS: '3600000' },
      problem: /RECONCILE_GIVE_UP_MS \(3600000\) must be above RECONCILE_AFTER_MS/,
    },
    {
      name: 'a lease shorter than two sweeps',
      env: { RECONCILE_SWEEP_INTERVAL_MS: '60000', RECONCILE_LEASE_MS: '90000' },
      problem: /RECONCILE_LEASE_MS \(90000\) must be at least twice/,
    },
    {
      name: 'zero queries per second',
      env: { RECONCILE_MAX_QPS: '0' },
      problem: /RECONCILE_MAX_QPS=0 must be a whole number from 1 to 1000/,
    },
  ];
  for (const c of refused) {
    test(`refused: ${c.name}`, () => {
      const problems = problemsOf(c.env);
      assert.ok(
        problems.some((p) => c.problem.test(p)),
        problems.join('\n'),
      );
    });
  }

  test('every setting is listed in CORE_ENV_VARS (the ConfigMap check reads it)', () => {
    for (const name of [
      'RECONCILE_ENABLED',
      'WECHATPAY_API_BASE',
      'RECONCILE_AFTER_MS',
      'RECONCILE_BACKOFF_MS',
      'RECONCILE_BACKOFF_MAX_MS',
      'RECONCILE_GIVE_UP_MS',
      'RECONCILE_MAX_QPS',
      'RECONCILE_SWEEP_INTERVAL_MS',
      'RECONCILE_LEASE_MS',
      'RECONCILE_BATCH_SIZE',
      'RECONCILE_TIMEOUT_MS',
    ]) {
      assert.ok((CORE_ENV_VARS as readonly string[]).includes(name), name);
    }
  });
});
