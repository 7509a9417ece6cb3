// The gateway's notification paths (gateway/config.ts): v2 payments, v2 refunds and API v3 each
// have their own, distinct from each other and from /healthz.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GATEWAY_ENV_VARS, readGatewayConfig } from '../../gateway/config';
import { ConfigError } from '../../src/env-reader';

describe('readGatewayConfig: notification paths', () => {
  test('defaults: /wxpay/notify, /wxpay/refund/notify, /wxpay/v3/notify', () => {
    const c = readGatewayConfig({});
    assert.deepEqual(
      [c.notifyPath, c.refundNotifyPath, c.v3NotifyPath],
      ['/wxpay/notify', '/wxpay/refund/notify', '/wxpay/v3/notify'],
    );
  });
  test('REFUND_NOTIFY_PATH and V3_NOTIFY_PATH are read, and listed for the ConfigMap check', () => {
    const c = readGatewayConfig({ REFUND_NOTIFY_PATH: '/pay/refund', V3_NOTIFY_PATH: '/pay/v3' });
    assert.deepEqual([c.refundNotifyPath, c.v3NotifyPath], ['/pay/refund', '/pay/v3']);
    for (const name of ['REFUND_NOTIFY_PATH', 'V3_NOTIFY_PATH'])
      assert.ok((GATEWAY_ENV_VARS as readonly string[]).includes(name));
  });
  const problems: ReadonlyArray<{ name: string; env: Record<string, string>; problem: RegExp }> = [
    {
      name: 'a refund path that is not a path',
      env: { REFUND_NOTIFY_PATH: 'refund notify' },
      problem: /^REFUND_NOTIFY_PATH=refund notify must be a path/,
    },
    {
      name: 'a v3 path that is not a path',
      env: { V3_NOTIFY_PATH: 'v3' },
      problem: /^V3_NOTIFY_PATH=v3 must be a path/,
    },
    {
      name: 'the refund path equal to the payment path',
      env: { REFUND_NOTIFY_PATH: '/wxpay/notify' },
      problem: /must differ from each other and from \/healthz/,
    },
    { name: 'the v3 path on /healthz', env: { V3_NOTIFY_PATH: '/healthz' }, problem: /must differ/ },
  ];
  for (const c of problems) {
    test(c.name, () => {
      assert.throws(
        () => readGatewayConfig(c.env),
        (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && c.problem.test(e.problems[0] ?? ''),
      );
    });
  }
});
