// End to end as WeChat sees it: HTTP into the production gateway/nginx.conf, through the gateway
// process, over gRPC to the core process, into PostgreSQL with a Redis lock. Only the ports and
// the file paths of nginx.conf are changed for the test.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import knex, { type Knex } from 'knex';
import { credentials, Metadata } from '@grpc/grpc-js';
import { OrderStatus, PaymentCallbackClient, type Order } from '../../src/gen/payment/callback/v1/payment_callback';
import { freePort } from '../support/free-port';
import { startNginx, type NginxServer } from '../support/nginx-server';
import { startPostgres, type PostgresServer } from '../support/postgres-server';
import { startRedis, type RedisServer } from '../support/redis-server';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../support/service-processes';
import { DEMO, newTradeNo, paidFields, signNotification, TEST_MERCHANTS_JSON, toNotifyXml } from '../support/sign-notification';

const NGINX_CONF = path.join(__dirname, '..', '..', '..', 'gateway', 'nginx.conf');

/**
 * The production config with only the listen port, the upstream port and the paths swapped
 * (the access log goes to a file, which the test reads to check it carries no secrets).
 */
function testNginxConf(dir: string, listenPort: number, gatewayPort: number): string {
  const original = readFileSync(NGINX_CONF, 'utf8');
  const replace = (text: string, from: string | RegExp, to: string): string => {
    const out = text.replace(from, to);
    assert.notEqual(out, text, `nginx.conf no longer contains ${String(from)}: update this test`);
    return out;
  };
  let conf = replace(original, 'listen 8081;', `listen 127.0.0.1:${listenPort};`);
  conf = replace(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${gatewayPort};`);
  conf = replace(conf, /\/tmp\//g, `${dir}/`);
  return replace(conf, 'access_log /dev/stdout notify;', `access_log ${dir}/access.log notify;`);
}

let postgres: PostgresServer;
let redis: RedisServer;
let core: ServiceProcess;
let gateway: ServiceProcess;
let nginx: NginxServer;
let db: Knex;
let client: PaymentCallbackClient;
let notifyUrl: string;

before(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const databaseUrl = await postgres.createDatabase('payment_callback');
  core = await startCoreProcess({ DATABASE_URL: databaseUrl, REDIS_URLS: redis.url, MERCHANTS_JSON: TEST_MERCHANTS_JSON });
  gateway = await startGatewayProcess(core.port);
  const port = await freePort();
  nginx = await startNginx((paths) => testNginxConf(paths.dir, port, gateway.port), { port });
  notifyUrl = `http://127.0.0.1:${port}/wxpay/notify`;
  db = knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 2 } });
  client = new PaymentCallbackClient(`127.0.0.1:${core.port}`, credentials.createInsecure());
});

after(async () => {
  client?.close();
  await db?.destroy();
  await nginx?.dispose();
  await gateway?.stop();
  await core?.stop();
  await Promise.allSettled([postgres?.dispose(), redis?.dispose()]);
});

function createOrder(outTradeNo: string, totalFee = 100): Promise<Order | undefined> {
  return new Promise((resolve, reject) => client.createOrder(
    { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo, totalFee, feeType: 'CNY' }, new Metadata(), { deadline: Date.now() + 5_000 },
    (err, res) => (err ? reject(err) : resolve(res?.order))));
}

function getOrder(outTradeNo: string): Promise<Order | undefined> {
  return new Promise((resolve, reject) => client.getOrder({ mchId: DEMO.mchId, outTradeNo }, new Metadata(), { deadline: Date.now() + 5_000 },
    (err, res) => (err ? reject(err) : resolve(res?.order))));
}

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(notifyUrl, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const isFail = (text: string): boolean => text.startsWith('<xml><return_code><![CDATA[FAIL]]></return_code>');

describe('through nginx', () => {
  test('a signed notification for a registered order: HTTP 200 SUCCESS and the order is PAID', async () => {
    const tradeNo = newTradeNo('E');
    await createOrder(tradeNo);
    const res = await post(toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key)));
    assert.deepEqual([res.status, res.text], [200, SUCCESS]);
    const order = await getOrder(tradeNo);
    assert.equal(order?.status, OrderStatus.ORDER_STATUS_PAID);
    assert.equal(order?.transactionId, paidFields(tradeNo)['transaction_id']);
  });

  test('the same notification again, and ten at once: SUCCESS every time, one event', async () => {
    const tradeNo = newTradeNo('E');
    await createOrder(tradeNo);
    const body = toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key, 'HMAC-SHA256'));
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(body)));
    assert.deepEqual(new Set(replies.map((r) => `${r.status} ${r.text}`)), new Set([`200 ${SUCCESS}`]));
    assert.equal((await post(body)).text, SUCCESS);
    const events = await db('payment_events').where({ out_trade_no: tradeNo });
    assert.equal(events.length, 1);
  });

  test('the client address from X-Forwarded-For and the request id reach the stored notification', async () => {
    const tradeNo = newTradeNo('E');
    await createOrder(tradeNo);
    const res = await post(toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key)), { 'x-forwarded-for': '198.51.100.9' });
    assert.equal(res.status, 200);
    const requestId = res.headers.get('x-request-id') ?? '';
    assert.match(requestId, /^[0-9a-f]{32}$/, 'nginx assigns $request_id and the gateway echoes it');
    const row = (await db('notifications').where({ out_trade_no: tradeNo }).first()) as Record<string, unknown>;
    assert.deepEqual([row['client_ip'], row['request_id']], ['198.51.100.9', requestId]);
  });

  const refused: ReadonlyArray<{ name: string; body: () => string | Buffer; status: number }> = [
    { name: 'a forged signature', body: () => toNotifyXml(signNotification(paidFields(newTradeNo('F')), 'B'.repeat(32))), status: 401 },
    { name: 'a DOCTYPE with an external entity', body: () => '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><appid>&x;</appid></xml>', status: 400 },
    { name: 'billion laughs', body: () => `<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]><xml><a>&lol9;</a></xml>`, status: 400 },
    { name: 'malformed XML', body: () => '<xml><appid>wx</xml>', status: 400 },
    { name: 'a body over 64 KiB (refused by nginx)', body: () => `<xml><attach>${'a'.repeat(70_000)}</attach></xml>`, status: 413 },
  ];
  for (const c of refused) {
    test(`${c.name}: HTTP ${c.status}, a FAIL reply, nothing stored`, async () => {
      const before = await db('notifications').count({ n: '*' }).first();
      const res = await post(c.body());
      assert.equal(res.status, c.status, res.text);
      assert.ok(isFail(res.text), res.text);
      assert.deepEqual(await db('notifications').count({ n: '*' }).first(), before);
    });
  }

  test('the access log has one JSON line per request and no notification content', async () => {
    const tradeNo = newTradeNo('A');
    await createOrder(tradeNo);
    const fields = signNotification(paidFields(tradeNo), DEMO.key);
    await post(toNotifyXml(fields));
    const log = readFileSync(path.join(nginx.dir, 'access.log'), 'utf8');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l['path'] === '/wxpay/notify' && l['status'] === 200));
    for (const secret of [fields['sign'] ?? '?', tradeNo, DEMO.key]) assert.ok(!log.includes(secret), `access log leaks ${secret}`);
  });

  test('only POST reaches the gateway', async () => {
    const res = await fetch(notifyUrl, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 403);
  });
});

describe('when parts are down', () => {
  test('core stopped: the gateway answers 503 FAIL (WeChat retries); core back: SUCCESS', async () => {
    const tradeNo = newTradeNo('S');
    await createOrder(tradeNo);
    const body = toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key));
    const exit = await core.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM is a clean, graceful exit');
    const down = await post(body);
    assert.equal(down.status, 503);
    assert.ok(isFail(down.text));
    await core.restart();
    // The gateway's channel reconnects with a short backoff; until then it waits within its deadline.
    const up = await post(body);
    assert.deepEqual([up.status, up.text], [200, SUCCESS]);
  });

  test('gateway stopped: nginx itself answers 503 FAIL in WeChat\'s format', async () => {
    await gateway.stop();
    try {
      const res = await post(toNotifyXml(signNotification(paidFields(newTradeNo('S')), DEMO.key)));
      assert.equal(res.status, 503);
      assert.ok(isFail(res.text), res.text);
    } finally {
      await gateway.restart();
    }
  });
});
