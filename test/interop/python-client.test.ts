// The contract proven by a gRPC stack that shares none of our code: Debian's python3-grpcio
// (the C core) with message classes built from the .proto files at run time. The Python side
// signs its own notification, pays an order, reads it back, and follows the event stream.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { DEMO, newTradeNo } from '../../harness/sign-notification';
import { startTestCore, type TestCore } from '../../harness/test-core';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';

const ROOT = path.join(__dirname, '..', '..', '..');
const TOKEN = 'python-interop-token-000000000000000001';

let backend: Backend;
let core: TestCore;
let dir: string;

before(async () => {
  backend = await SQLITE_IN_PROCESS.start();
  core = await startTestCore({
    databaseUrl: backend.databaseUrl,
    env: {
      CALLERS_JSON: JSON.stringify([
        { name: 'python', token: TOKEN, scopes: ['notify', 'orders', 'events', 'queries'] },
      ]),
    },
  });
  dir = await makeTempDir('interop');
});

after(async () => {
  await core?.stop();
  await backend?.dispose();
  if (dir) await removeTempDir(dir);
});

test('python3-grpcio drives CreateOrder, HandleNotify, GetOrder, WatchPaymentEvents and ListNotifications', async () => {
  const descriptors = path.join(dir, 'payment_callback.pb');
  execFileSync('protoc', [
    '--include_imports',
    `--descriptor_set_out=${descriptors}`,
    '-I',
    path.join(ROOT, 'proto'),
    'payment/callback/v1/payment_callback.proto',
  ]);
  const tradeNo = newTradeNo('PY');
  // Asynchronously: the core under test runs in this process and must keep answering.
  const { stdout: out } = await promisify(execFile)(
    '/usr/bin/python3',
    [
      path.join(ROOT, 'test', 'interop', 'python_client.py'),
      `127.0.0.1:${core.port}`,
      descriptors,
      TOKEN,
      DEMO.mchId,
      DEMO.appid,
      DEMO.key,
      tradeNo,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const seen = JSON.parse(out) as Record<string, Record<string, unknown> | string>;
  const field = (k: string): Record<string, unknown> => seen[k] as Record<string, unknown>;
  assert.equal(field('created')['created'], true);
  assert.deepEqual([field('notify')['outcome'], field('notify')['acknowledge']], ['NOTIFY_OUTCOME_PAID', true]);
  const order = field('order')['order'] as Record<string, unknown>;
  assert.deepEqual(
    [order['status'], order['total_fee'], order['paid_at']],
    ['ORDER_STATUS_PAID', '888', '2026-11-27T00:09:10Z'],
  );
  const event = field('event');
  assert.deepEqual(
    [event['type'], event['out_trade_no'], event['total_fee']],
    ['PAYMENT_EVENT_TYPE_ORDER_PAID', tradeNo, '888'],
  );
  const notifications = field('notifications')['notifications'] as Array<Record<string, unknown>>;
  assert.deepEqual(
    notifications.map((n) => n['outcome']),
    ['NOTIFY_OUTCOME_PAID'],
  );
  assert.equal(seen['without_token'], 'UNAUTHENTICATED');
});
