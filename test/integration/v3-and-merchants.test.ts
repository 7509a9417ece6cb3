// APIv3 notifications (HandleV3Notify), service providers, key rotation and the new paths of the
// gateway, through a real gRPC core on SQLite and the real gateway over HTTP. The core's clock is
// injected: frozen at the official vector's timestamp to replay it, then moved across a key
// rotation deadline. Keys are generated here (node:crypto), and one platform certificate by
// openssl, configured by file path as in production.

import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readGatewayConfig } from '../../gateway/config';
import { createCoreClient } from '../../gateway/core-client';
import { startGateway, type RunningGateway } from '../../gateway/gateway-server';
import {
  NotifyOutcome,
  OrderStatus,
  type HandleNotifyResponse,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { createLogger } from '../../src/logger';
import { SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { refundEnvelope, refundInnerFields } from '../../harness/refund-notification';
import { runCommand } from '../../harness/run-command';
import { newTradeNo, paidFields, signNotification, toNotifyXml } from '../../harness/sign-notification';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';
import { orderTrail, startTestCore, tableCounts, type TestCore } from '../../harness/test-core';
import { newV3Key, refundResource, signV3, transactionResource, v3Body } from '../../harness/v3-notification';

const O = NotifyOutcome;
const vector = JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8')) as {
  readonly now_unix: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly platform_certificate_pem: string;
  readonly apiv3_key: string;
};

const V2_KEY = 'V2key0123456789abcdefghijklmnopq';
const V3_KEY = 'ApiV3Key0123456789abcdefghijklmn';
const PUBKEY = newV3Key('PUB_KEY_ID_0114232134912410000000000000');
const V3M = { mchId: '1900000100', appid: 'wxd678efh567hg6787' };
const CERTM = { mchId: '1900000300', appid: 'wxcert00000000001' };
const ROT = {
  mchId: '1900000400',
  appid: 'wxrotation0000001',
  oldKey: 'Old0efghijklmnopqrstuvwxyz012345',
  newKey: 'New0efghijklmnopqrstuvwxyz012345',
};
const PROV = {
  mchId: '1230000109',
  appid: 'wxprovider0000001',
  key: 'Prov0fghijklmnopqrstuvwxyz012345',
  sub: '1900000109',
};
// A service provider on API v3: its own WeChat Pay public key and APIv3 key, one sub-merchant.
const PROV3 = {
  mchId: '1230000209',
  appid: 'wxprovider0000002',
  sub: '1900000209',
  v3Key: 'Prov3V3Key456789abcdefghijklmnop',
};
const PROV3_PUBKEY = newV3Key('PUB_KEY_ID_0114232134912410000000000209');

const START = new Date(Math.floor(Date.now() / 1000) * 1000);
const ROTATION_DEADLINE = new Date(START.getTime() + 3_600_000);
let now = START;
const seconds = (): number => Math.floor(now.getTime() / 1000);

let backend: Backend;
let dir: string;
let core: TestCore;
let gateway: RunningGateway;
let base: string;
let certKey: { id: string; privateKey: ReturnType<typeof createPrivateKey> };

before(async () => {
  dir = await makeTempDir('v3-cert');
  // A platform certificate as WeChat would issue one, so the certificate path is the production one.
  await runCommand('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=WeChat Pay platform (test)',
  ]);
  certKey = {
    id: new X509Certificate(readFileSync(join(dir, 'cert.pem'))).serialNumber,
    privateKey: createPrivateKey(readFileSync(join(dir, 'key.pem'))),
  };
  backend = await SQLITE_IN_PROCESS.start();
  const merchants = [
    {
      mch_id: '1234567890',
      appids: ['054aa7d7a2a54ab5898df65bd96f001c'],
      api_key: V2_KEY,
      apiv3_key: vector.apiv3_key,
      platform_certificates: [vector.platform_certificate_pem],
    },
    {
      mch_id: V3M.mchId,
      appids: [V3M.appid],
      api_key: V2_KEY,
      apiv3_key: V3_KEY,
      wechatpay_public_keys: [{ id: PUBKEY.id, pem: PUBKEY.publicPem }],
    },
    {
      mch_id: CERTM.mchId,
      appids: [CERTM.appid],
      api_key: V2_KEY,
      apiv3_key: V3_KEY,
      platform_certificates: [join(dir, 'cert.pem')],
    },
    {
      mch_id: ROT.mchId,
      appids: [ROT.appid],
      api_key: ROT.newKey,
      previous_api_key: ROT.oldKey,
      previous_api_key_valid_until: ROTATION_DEADLINE.toISOString(),
    },
    { mch_id: PROV.mchId, appids: [PROV.appid], api_key: PROV.key, sub_mch_ids: [PROV.sub] },
    {
      mch_id: PROV3.mchId,
      appids: [PROV3.appid],
      api_key: V2_KEY,
      apiv3_key: PROV3.v3Key,
      sub_mch_ids: [PROV3.sub],
      wechatpay_public_keys: [{ id: PROV3_PUBKEY.id, pem: PROV3_PUBKEY.publicPem }],
    },
  ];
  core = await startTestCore({
    databaseUrl: backend.databaseUrl,
    env: { MERCHANTS_JSON: JSON.stringify(merchants) },
    clock: () => now,
  });
  gateway = await startGateway(
    readGatewayConfig({
      CORE_GRPC_TARGET: `127.0.0.1:${core.port}`,
      GATEWAY_LISTEN: '127.0.0.1:0',
      GATEWAY_METRICS_LISTEN: 'off',
      LOG_LEVEL: 'silent',
    }),
    createCoreClient(`127.0.0.1:${core.port}`),
    createLogger('test-gateway', 'silent'),
  );
  base = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway?.shutdown();
  await core?.stop();
  await backend?.dispose();
  if (dir) await removeTempDir(dir);
});

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

const verdict = (r: HandleNotifyResponse): [NotifyOutcome, string, boolean] => [r.outcome, r.code, r.acknowledge];

async function v3Order(totalFee = 100, merchant = V3M): Promise<{ tradeNo: string; transactionId: string }> {
  const tradeNo = newTradeNo('V');
  await core.createOrder({ mchId: merchant.mchId, appid: merchant.appid, outTradeNo: tradeNo, totalFee });
  return { tradeNo, transactionId: `4200${tradeNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0') };
}

function payment(o: { tradeNo: string; transactionId: string }, id: string, total = 100, merchant = V3M): string {
  return v3Body(
    id,
    'TRANSACTION.SUCCESS',
    transactionResource({
      mchid: merchant.mchId,
      appid: merchant.appid,
      outTradeNo: o.tradeNo,
      transactionId: o.transactionId,
      total,
    }),
    V3_KEY,
  );
}

/** Whether the core counted a notification with this code: replies to forgeries name none. */
async function countedCode(code: string): Promise<boolean> {
  const { values } = await core.metrics.notifications.get();
  return values.some((v) => v.labels['code'] === code && v.value > 0);
}

describe('the official APIv3 vector through the real server, clock frozen at its timestamp', () => {
  test('gRPC: verified, decrypted, then MALFORMED / UNSUPPORTED_EVENT_TYPE; nothing stored', async () => {
    now = new Date(vector.now_unix * 1000);
    try {
      const before = await tableCounts(core.db);
      const r = await core.v3Notify(vector.headers, vector.body);
      assert.deepEqual(verdict(r), [O.NOTIFY_OUTCOME_MALFORMED, 'UNSUPPORTED_EVENT_TYPE', false], r.message);
      // The log says which event type; the reply quotes nothing of the decrypted notification.
      assert.equal(r.message, 'the notification is malformed');
      assert.deepEqual(await tableCounts(core.db), before);
    } finally {
      now = START;
    }
  });
  test('HTTP: 400 with {"code":"FAIL","message":"UNSUPPORTED_EVENT_TYPE: ..."}', async () => {
    now = new Date(vector.now_unix * 1000);
    try {
      const res = await post('/wxpay/v3/notify', vector.body, {
        'content-type': 'application/json',
        ...vector.headers,
      });
      assert.equal(res.status, 400);
      assert.match(res.type ?? '', /^application\/json/);
      const json = JSON.parse(res.text) as { code: string; message: string };
      assert.equal(json.code, 'FAIL');
      assert.match(json.message, /^UNSUPPORTED_EVENT_TYPE: /);
    } finally {
      now = START;
    }
  });
  test('the same vector with the real clock: 401, and the reply names no check (the core counts TIMESTAMP_OUT_OF_WINDOW)', async () => {
    const res = await post('/wxpay/v3/notify', vector.body, vector.headers);
    assert.equal(res.status, 401);
    assert.equal((JSON.parse(res.text) as { message: string }).message, 'signature verification failed');
    assert.ok(await countedCode('TIMESTAMP_OUT_OF_WINDOW'));
  });
});

describe('APIv3 payments: the same exactly-once path as v2', () => {
  test('TRANSACTION.SUCCESS over HTTP: 204 without a body, the order PAID, the notification stored without its signature', async () => {
    const o = await v3Order();
    const body = payment(o, 'EV-PAY-1');
    const headers = signV3(body, PUBKEY, seconds());
    const res = await post('/wxpay/v3/notify', body, { 'content-type': 'application/json', ...headers });
    assert.deepEqual([res.status, res.text], [204, '']);
    const order = (await core.getOrder(o.tradeNo, V3M.mchId)).order;
    assert.deepEqual(
      [order?.status, order?.transactionId, order?.totalFee],
      [OrderStatus.ORDER_STATUS_PAID, o.transactionId, 100],
    );
    const trail = await orderTrail(core.db, o.tradeNo);
    assert.equal(trail.notifications.length, 1);
    const n = trail.notifications[0] ?? {};
    assert.deepEqual([n['kind'], n['outcome'], n['raw_body']], ['PAYMENT_V3', 'PAID', body]);
    const fields = JSON.parse(String(n['fields_json'])) as Record<string, string>;
    assert.equal(fields['Wechatpay-Signature'], undefined);
    assert.deepEqual(
      [fields['Wechatpay-Serial'], fields['event_type'], fields['id']],
      [PUBKEY.id, 'TRANSACTION.SUCCESS', 'EV-PAY-1'],
    );
    assert.equal((JSON.parse(fields['resource'] ?? '{}') as { out_trade_no?: string }).out_trade_no, o.tradeNo);
  });

  test('redelivered (newly signed, same id), then the same payment as a v2 notification: DUPLICATE, one ORDER_PAID', async () => {
    const o = await v3Order();
    const body = payment(o, 'EV-PAY-2');
    assert.equal((await core.v3Notify(signV3(body, PUBKEY, seconds()), body)).outcome, O.NOTIFY_OUTCOME_PAID);
    assert.deepEqual(verdict(await core.v3Notify(signV3(body, PUBKEY, seconds() + 15), body)), [
      O.NOTIFY_OUTCOME_DUPLICATE,
      'DUPLICATE',
      true,
    ]);
    const v2 = signNotification(
      paidFields(o.tradeNo, { mch_id: V3M.mchId, appid: V3M.appid, transaction_id: o.transactionId }),
      V2_KEY,
    );
    assert.deepEqual(verdict(await core.notify(v2)), [O.NOTIFY_OUTCOME_DUPLICATE, 'DUPLICATE', true]);
    assert.deepEqual(
      (await orderTrail(core.db, o.tradeNo)).events.map((e) => e['type']),
      ['ORDER_PAID'],
    );
  });

  test('an amount that differs from the order: 409, an anomaly, the order untouched', async () => {
    const o = await v3Order(100);
    const body = payment(o, 'EV-PAY-3', 1);
    const res = await post('/wxpay/v3/notify', body, signV3(body, PUBKEY, seconds()));
    assert.equal(res.status, 409);
    assert.match(res.text, /AMOUNT_MISMATCH/);
    assert.deepEqual(
      (await orderTrail(core.db, o.tradeNo)).anomalies.map((a) => a['kind']),
      ['AMOUNT_MISMATCH'],
    );
  });

  test('an order not registered yet: 503 (WeChat retries), then PAID once it exists', async () => {
    const tradeNo = newTradeNo('L');
    const o = { tradeNo, transactionId: `4200${tradeNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0') };
    const body = payment(o, 'EV-PAY-4');
    const res = await post('/wxpay/v3/notify', body, signV3(body, PUBKEY, seconds()));
    assert.equal(res.status, 503);
    assert.match(res.text, /ORDER_NOT_FOUND/);
    await core.createOrder({ mchId: V3M.mchId, appid: V3M.appid, outTradeNo: tradeNo });
    assert.equal((await post('/wxpay/v3/notify', body, signV3(body, PUBKEY, seconds()))).status, 204);
  });

  test('a signature probe: 401 SIGNATURE_PROBE; an unknown serial: 401 UNKNOWN_SERIAL; no headers: 400', async () => {
    const o = await v3Order();
    const body = payment(o, 'EV-PAY-5');
    const probe = await post('/wxpay/v3/notify', body, {
      ...signV3(body, PUBKEY, seconds()),
      'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/x',
    });
    assert.equal(probe.status, 401);
    assert.equal((JSON.parse(probe.text) as { message: string }).message, 'signature verification failed');
    assert.ok(await countedCode('SIGNATURE_PROBE'));
    const unknown = await post(
      '/wxpay/v3/notify',
      body,
      signV3(body, { ...PUBKEY, id: 'PUB_KEY_ID_0000000000000000000000000009' }, seconds()),
    );
    assert.equal(unknown.status, 401);
    assert.equal((JSON.parse(unknown.text) as { message: string }).message, 'signature verification failed');
    assert.ok(await countedCode('UNKNOWN_SERIAL'));
    const bare = await post('/wxpay/v3/notify', body, { 'content-type': 'application/json' });
    assert.equal(bare.status, 400);
    assert.match(bare.text, /MISSING_HEADER/);
    assert.equal((await core.getOrder(o.tradeNo, V3M.mchId)).order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
  });

  test('a platform certificate made by openssl, configured by file path: verified, PAID', async () => {
    // The certificate is valid from the moment openssl made it, after START was taken.
    now = new Date();
    try {
      const o = await v3Order(100, CERTM);
      const body = payment(o, 'EV-PAY-6', 100, CERTM);
      const r = await core.v3Notify(signV3(body, certKey, seconds()), body);
      assert.deepEqual(verdict(r), [O.NOTIFY_OUTCOME_PAID, 'OK', true], r.message);
    } finally {
      now = START;
    }
  });
});

describe('APIv3 refunds: the same refund path as v2', () => {
  test('REFUND.SUCCESS then REFUND.ABNORMAL for another refund, over HTTP: 204 each; refunded once', async () => {
    const o = await v3Order();
    const paid = payment(o, 'EV-R-1');
    assert.equal((await core.v3Notify(signV3(paid, PUBKEY, seconds()), paid)).outcome, O.NOTIFY_OUTCOME_PAID);
    const refund = (id: string, outRefundNo: string, status: 'SUCCESS' | 'ABNORMAL'): string =>
      v3Body(
        id,
        `REFUND.${status}`,
        refundResource({
          mchid: V3M.mchId,
          outTradeNo: o.tradeNo,
          transactionId: o.transactionId,
          outRefundNo,
          refund: 40,
          total: 100,
          status,
        }),
        V3_KEY,
      );
    const ok = refund('EV-R-2', `${o.tradeNo}a`, 'SUCCESS');
    assert.equal((await post('/wxpay/v3/notify', ok, signV3(ok, PUBKEY, seconds()))).status, 204);
    assert.equal((await post('/wxpay/v3/notify', ok, signV3(ok, PUBKEY, seconds() + 30))).status, 204); // redelivered
    const abnormal = refund('EV-R-3', `${o.tradeNo}b`, 'ABNORMAL');
    assert.equal((await post('/wxpay/v3/notify', abnormal, signV3(abnormal, PUBKEY, seconds()))).status, 204);
    assert.equal((await core.getOrder(o.tradeNo, V3M.mchId)).order?.refundedFee, 40);
    const trail = await orderTrail(core.db, o.tradeNo);
    assert.deepEqual(
      trail.events.map((e) => e['type']),
      ['ORDER_PAID', 'REFUND_SUCCEEDED', 'REFUND_FAILED'],
    );
    assert.deepEqual(
      trail.notifications.map((n) => [n['kind'], n['outcome']]),
      [
        ['PAYMENT_V3', 'PAID'],
        ['REFUND_V3', 'REFUNDED'],
        ['REFUND_V3', 'DUPLICATE'],
        ['REFUND_V3', 'REFUND_RECORDED'],
      ],
    );
  });
});

describe('v2 refunds over HTTP (REFUND_NOTIFY_PATH)', () => {
  test('an XML refund notification: 200 SUCCESS, refunded; a damaged one: 401 FAIL', async () => {
    const tradeNo = newTradeNo('H');
    await core.createOrder({ mchId: V3M.mchId, appid: V3M.appid, outTradeNo: tradeNo });
    await core.notify(signNotification(paidFields(tradeNo, { mch_id: V3M.mchId, appid: V3M.appid }), V2_KEY));
    const fields = refundEnvelope(
      refundInnerFields({ outTradeNo: tradeNo, outRefundNo: `${tradeNo}h`, refundFee: 10 }),
      V2_KEY,
      { mchId: V3M.mchId, appid: V3M.appid },
    );
    const res = await post('/wxpay/refund/notify', toNotifyXml(fields), { 'content-type': 'text/xml' });
    assert.equal(res.status, 200);
    assert.match(res.text, /<return_code><!\[CDATA\[SUCCESS\]\]><\/return_code>/);
    assert.equal((await core.getOrder(tradeNo, V3M.mchId)).order?.refundedFee, 10);
    const damaged = await post(
      '/wxpay/refund/notify',
      toNotifyXml({ ...fields, req_info: fields['req_info']?.slice(24) ?? '' }),
    );
    assert.equal(damaged.status, 401);
    assert.match(damaged.text, /signature verification failed/);
    assert.ok(await countedCode('REFUND_UNDECRYPTABLE'));
  });
});

describe('key rotation: both v2 keys during the overlap, only the new one after it', () => {
  const pay = async (key: string): Promise<HandleNotifyResponse> => {
    const tradeNo = newTradeNo('K');
    await core.createOrder({ mchId: ROT.mchId, appid: ROT.appid, outTradeNo: tradeNo });
    return core.notify(signNotification(paidFields(tradeNo, { mch_id: ROT.mchId, appid: ROT.appid }), key));
  };
  test('before the deadline: the old key and the new key are both accepted', async () => {
    now = new Date(ROTATION_DEADLINE.getTime() - 1_000);
    try {
      assert.deepEqual(verdict(await pay(ROT.oldKey)), [O.NOTIFY_OUTCOME_PAID, 'OK', true]);
      assert.deepEqual(verdict(await pay(ROT.newKey)), [O.NOTIFY_OUTCOME_PAID, 'OK', true]);
    } finally {
      now = START;
    }
  });
  test('after the deadline: the old key is INVALID_SIGNATURE, the new key is accepted', async () => {
    now = new Date(ROTATION_DEADLINE.getTime() + 1_000);
    try {
      assert.deepEqual(verdict(await pay(ROT.oldKey)), [O.NOTIFY_OUTCOME_REJECTED, 'INVALID_SIGNATURE', false]);
      assert.deepEqual(verdict(await pay(ROT.newKey)), [O.NOTIFY_OUTCOME_PAID, 'OK', true]);
    } finally {
      now = START;
    }
  });
});

describe("service providers: a notification with sub_mch_id pays and refunds the sub-merchant's order", () => {
  test("signed with the provider's key; the order is registered under the sub-merchant", async () => {
    const tradeNo = newTradeNo('S');
    const created = await core.createOrder({ mchId: PROV.sub, appid: PROV.appid, outTradeNo: tradeNo });
    assert.equal(created.created, true);
    const fields = signNotification(
      paidFields(tradeNo, { mch_id: PROV.mchId, sub_mch_id: PROV.sub, appid: PROV.appid }),
      PROV.key,
    );
    assert.deepEqual(verdict(await core.notify(fields)), [O.NOTIFY_OUTCOME_PAID, 'OK', true]);
    assert.equal((await core.getOrder(tradeNo, PROV.sub)).order?.status, OrderStatus.ORDER_STATUS_PAID);
    const trail = await orderTrail(core.db, tradeNo);
    assert.deepEqual(
      trail.notifications.map((n) => n['mch_id']),
      [PROV.sub],
    );
    assert.deepEqual(
      trail.events.map((e) => [e['type'], e['mch_id']]),
      [['ORDER_PAID', PROV.sub]],
    );
    const refund = refundEnvelope(
      refundInnerFields({ outTradeNo: tradeNo, outRefundNo: `${tradeNo}s`, refundFee: 100 }),
      PROV.key,
      { mchId: PROV.mchId, appid: PROV.appid, subMchId: PROV.sub },
    );
    assert.deepEqual(verdict(await core.refundNotify(refund)), [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true]);
    assert.equal((await core.getOrder(tradeNo, PROV.sub)).order?.refundedFee, 100);
  });
  test('a sub_mch_id the provider does not list: REJECTED / UNKNOWN_SUB_MERCHANT, nothing stored', async () => {
    const tradeNo = newTradeNo('S');
    const before = await tableCounts(core.db);
    const fields = signNotification(
      paidFields(tradeNo, { mch_id: PROV.mchId, sub_mch_id: '1900000999', appid: PROV.appid }),
      PROV.key,
    );
    assert.deepEqual(verdict(await core.notify(fields)), [O.NOTIFY_OUTCOME_REJECTED, 'UNKNOWN_SUB_MERCHANT', false]);
    assert.deepEqual(await tableCounts(core.db), before);
  });
  test('CreateOrder for a sub-merchant nobody lists: FAILED_PRECONDITION', async () => {
    await assert.rejects(
      core.createOrder({ mchId: '1900000999', appid: PROV.appid, outTradeNo: newTradeNo('S') }),
      (e: { code?: number }) => e.code === 9,
    );
  });
});

describe("service providers on API v3: the partner shape (sp_mchid, sub_mchid) pays the sub-merchant's order", () => {
  const partnerPayment = (tradeNo: string, subMchid: string, id: string): string =>
    v3Body(
      id,
      'TRANSACTION.SUCCESS',
      {
        sp_appid: PROV3.appid,
        sp_mchid: PROV3.mchId,
        sub_mchid: subMchid,
        out_trade_no: tradeNo,
        transaction_id: `4200${tradeNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
        trade_type: 'JSAPI',
        trade_state: 'SUCCESS',
        success_time: '2026-11-27T12:00:00+08:00',
        payer: { sp_openid: 'oSp', sub_openid: 'oSub' },
        amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' },
      },
      PROV3.v3Key,
    );

  test('a listed sub-merchant: PAID, the order registered under the sub-merchant', async () => {
    now = START;
    const tradeNo = newTradeNo('P');
    await core.createOrder({ mchId: PROV3.sub, appid: PROV3.appid, outTradeNo: tradeNo, totalFee: 100 });
    const body = partnerPayment(tradeNo, PROV3.sub, `sp-${tradeNo}`);
    assert.deepEqual(verdict(await core.v3Notify(signV3(body, PROV3_PUBKEY, seconds()), body)), [
      O.NOTIFY_OUTCOME_PAID,
      'OK',
      true,
    ]);
    assert.equal((await core.getOrder(tradeNo, PROV3.sub)).order?.status, OrderStatus.ORDER_STATUS_PAID);
  });

  test('a sub-merchant the provider does not list: REJECTED / UNKNOWN_SUB_MERCHANT, nothing stored', async () => {
    now = START;
    const before = await tableCounts(core.db);
    const body = partnerPayment(newTradeNo('P'), '1900000999', `sp-unknown-${Date.now()}`);
    assert.deepEqual(verdict(await core.v3Notify(signV3(body, PROV3_PUBKEY, seconds()), body)), [
      O.NOTIFY_OUTCOME_REJECTED,
      'UNKNOWN_SUB_MERCHANT',
      false,
    ]);
    assert.deepEqual(await tableCounts(core.db), before);
  });
});
