// A merchants reload narrows what a bound caller sees at once, open event streams included: a
// stream opened by a provider's caller stops carrying a sub-merchant the reload moved to another
// provider. Real core over gRPC on SQLite, reloaded the way SIGHUP does.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { readCoreConfig, readMerchantsConfig } from '../../src/config';
import { startCore, type RunningCore } from '../../src/core';
import {
  CreateOrderRequest,
  HandleNotifyRequest,
  PaymentCallbackClient,
  WatchPaymentEventsRequest,
  type HandleNotifyResponse,
  type PaymentEvent,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { createLogger } from '../../src/logger';
import { newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';

const P = { mchId: '1230000109', appid: 'wx1230000109aaaa', key: 'P1p2p3p4p5p6p7p8p9p0pApBpCpDpEpF' };
const Q = { mchId: '1230000209', appid: 'wx1230000209aaaa', key: 'Q1q2q3q4q5q6q7q8q9q0qAqBqCqDqEqF' };
const [S1, S2] = ['1900000109', '1900000209'] as const;
const TOKENS = {
  gateway: 'gateway-token-reload-0000000000001',
  provider: 'provider-p-token-reload-00000000002',
  platform: 'platform-token-reload-000000000003',
};
const merchantsJson = (pSubs: string[], qSubs?: string[]): string =>
  JSON.stringify([
    { mch_id: P.mchId, appids: [P.appid], api_key: P.key, sub_mch_ids: pSubs },
    { mch_id: Q.mchId, appids: [Q.appid], api_key: Q.key, ...(qSubs ? { sub_mch_ids: qSubs } : {}) },
  ]);

let dir: string;
let core: RunningCore;
let client: PaymentCallbackClient;
let merchants = merchantsJson([S1, S2]);

function md(token: string): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}

before(async () => {
  dir = await makeTempDir('tenancy-reload');
  const env = {
    GRPC_LISTEN: '127.0.0.1:0',
    METRICS_LISTEN: 'off',
    DATABASE_URL: `sqlite:${dir}/db.sqlite`,
    MERCHANTS_JSON: merchants,
    EVENTS_POLL_MS: '50',
    CALLERS_JSON: JSON.stringify([
      { name: 'gateway', token: TOKENS.gateway, scopes: ['notify'] },
      { name: 'provider-p', token: TOKENS.provider, scopes: ['orders', 'events', 'queries'], mch_ids: [P.mchId] },
      { name: 'platform', token: TOKENS.platform, scopes: ['orders', 'queries'] },
    ]),
  };
  core = await startCore(readCoreConfig(env), createLogger('tenancy-reload', 'silent'), undefined, {
    loadMerchants: () => readMerchantsConfig({ ...env, MERCHANTS_JSON: merchants }),
  });
  client = new PaymentCallbackClient(`127.0.0.1:${core.grpcPort}`, credentials.createInsecure());
});

after(async () => {
  client?.close();
  await core?.shutdown();
  await removeTempDir(dir);
});

test('a stream opened before a reload stops carrying the sub-merchant the reload moved away', async () => {
  const seen: PaymentEvent[] = [];
  const stream = client.watchPaymentEvents(
    WatchPaymentEventsRequest.fromPartial({ fromNow: true }),
    md(TOKENS.provider),
  );
  stream.on('data', (e: PaymentEvent) => seen.push(e));
  stream.on('error', () => {});
  await new Promise((r) => setTimeout(r, 200));
  merchants = merchantsJson([S1], [S2]);
  assert.equal(core.reloadMerchants('test').status, 'reloaded');

  const tradeNo = newTradeNo('RL');
  await new Promise<void>((resolve, reject) =>
    client.createOrder(
      CreateOrderRequest.fromPartial({ mchId: S2, appid: Q.appid, outTradeNo: tradeNo, totalFee: 100, feeType: 'CNY' }),
      md(TOKENS.platform),
      (err: ServiceError | null) => (err ? reject(err) : resolve()),
    ),
  );
  const fields = signNotification(paidFields(tradeNo, { mch_id: Q.mchId, appid: Q.appid, sub_mch_id: S2 }), Q.key);
  const paid = await new Promise<HandleNotifyResponse>((resolve, reject) =>
    client.handleNotify(
      HandleNotifyRequest.fromPartial({ fields, rawBody: Buffer.from('x') }),
      md(TOKENS.gateway),
      (err: ServiceError | null, res?: HandleNotifyResponse) =>
        err || !res ? reject(err ?? new Error('no response')) : resolve(res),
    ),
  );
  assert.equal(paid.code, 'OK');
  await new Promise((r) => setTimeout(r, 400));
  stream.cancel();
  assert.deepEqual(
    seen.filter((e) => e.mchId === S2).map((e) => e.outTradeNo),
    [],
  );
});
