// End to end as WeChat sees it: HTTP into the production gateway/nginx.conf, through the gateway
// process, over gRPC to the core process, into PostgreSQL with a Redis lock. Only the ports and
// the file paths of nginx.conf are changed for the test. Also what nginx answers itself (in the
// reply format of the path) and how long it lets a slow client live.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import knex, { type Knex } from 'knex';
import { credentials, Metadata } from '@grpc/grpc-js';
import { SLOW_CLIENT_LIMITS } from '../../gateway/gateway-server';
import { replyXml, v3Fail } from '../../gateway/reply';
import { OrderStatus, PaymentCallbackClient, type Order } from '../../src/gen/payment/callback/v1/payment_callback';
import { freePort } from '../../harness/free-port';
import { startNginx, type NginxServer } from '../../harness/nginx-server';
import { startPostgres, type PostgresServer } from '../../harness/postgres-server';
import { startRedis, type RedisServer } from '../../harness/redis-server';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../../harness/service-processes';
import {
  DEMO,
  newTradeNo,
  paidFields,
  signNotification,
  TEST_MERCHANTS_JSON,
  toNotifyXml,
} from '../../harness/sign-notification';
import { rawRequest, trickle } from '../../harness/trickle-client';

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
let nginxPort: number;

before(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const databaseUrl = await postgres.createDatabase('payment_callback');
  core = await startCoreProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URLS: redis.url,
    MERCHANTS_JSON: TEST_MERCHANTS_JSON,
  });
  gateway = await startGatewayProcess(core.port);
  const port = await freePort();
  nginx = await startNginx((paths) => testNginxConf(paths.dir, port, gateway.port), { port });
  nginxPort = port;
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
  return new Promise((resolve, reject) =>
    client.createOrder(
      { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo, totalFee, feeType: 'CNY' },
      new Metadata(),
      { deadline: Date.now() + 5_000 },
      (err, res) => (err ? reject(err) : resolve(res?.order)),
    ),
  );
}

function getOrder(outTradeNo: string): Promise<Order | undefined> {
  return new Promise((resolve, reject) =>
    client.getOrder({ mchId: DEMO.mchId, outTradeNo }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) =>
      err ? reject(err) : resolve(res?.order),
    ),
  );
}

async function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(notifyUrl, {
    method: 'POST',
    headers: { 'content-type': 'text/xml', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const isFail = (text: string): boolean => text.startsWith('<xml><return_code><![CDATA[FAIL]]></return_code>');

/** The three notify paths and the format of every reply on them, the gateway's and nginx's own. */
const PATHS = [
  { path: '/wxpay/notify', format: 'xml' },
  { path: '/wxpay/refund/notify', format: 'xml' },
  { path: '/wxpay/v3/notify', format: 'json' },
] as const;

/**
 * Asserts a FAIL reply exactly as the gateway would write it on a path of this format (gateway/reply.ts):
 * v2's XML, or API v3's {"code":"FAIL","message":...} as application/json.
 */
function assertFailReply(
  format: 'xml' | 'json',
  res: { status: number; contentType: string; text: string },
  status: number,
  message: string,
): void {
  const what = `${res.status} ${res.contentType} ${res.text}`;
  assert.equal(res.status, status, what);
  if (format === 'json') {
    const expected = v3Fail(status, message);
    assert.equal(res.contentType, expected.contentType, what);
    assert.deepEqual(JSON.parse(res.text), JSON.parse(expected.body), what);
  } else {
    assert.match(res.contentType, /^application\/xml/, what);
    assert.equal(res.text, replyXml(false, message), what);
  }
}

/** The timeouts nginx.conf sets, in ms, read from the file the test runs. */
function nginxTimeoutMs(directive: string): number {
  const value = new RegExp(`^\\s*${directive}\\s+(\\d+)s;`, 'm').exec(readFileSync(NGINX_CONF, 'utf8'))?.[1];
  assert.ok(value, `nginx.conf sets no ${directive} in seconds: update this test`);
  return Number(value) * 1_000;
}

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
    const res = await post(toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key)), {
      'x-forwarded-for': '198.51.100.9',
    });
    assert.equal(res.status, 200);
    const requestId = res.headers.get('x-request-id') ?? '';
    assert.match(requestId, /^[0-9a-f]{32}$/, 'nginx assigns $request_id and the gateway echoes it');
    const row = (await db('notifications').where({ out_trade_no: tradeNo }).first()) as Record<string, unknown>;
    assert.deepEqual([row['client_ip'], row['request_id']], ['198.51.100.9', requestId]);
  });

  test("the Ingress's X-Request-Id is kept end to end; a malformed one is replaced", async () => {
    for (const [sent, kept] of [
      ['ingress-7f3a.42:x', true],
      ['two words', false],
      ['x'.repeat(129), false],
    ] as const) {
      const tradeNo = newTradeNo('E');
      await createOrder(tradeNo);
      const res = await post(toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key)), { 'x-request-id': sent });
      assert.equal(res.status, 200);
      const requestId = res.headers.get('x-request-id') ?? '';
      if (kept) assert.equal(requestId, sent);
      else assert.match(requestId, /^[0-9a-f]{32}$/, "nginx's own $request_id in place of a malformed one");
      const row = (await db('notifications').where({ out_trade_no: tradeNo }).first()) as Record<string, unknown>;
      assert.equal(row['request_id'], requestId);
      const log = readFileSync(path.join(nginx.dir, 'access.log'), 'utf8');
      assert.ok(log.includes(`"request_id":"${requestId}"`), 'the access log carries the same id');
    }
  });

  const refused: ReadonlyArray<{ name: string; body: () => string | Buffer; status: number }> = [
    {
      name: 'a forged signature',
      body: () => toNotifyXml(signNotification(paidFields(newTradeNo('F')), 'B'.repeat(32))),
      status: 401,
    },
    {
      name: 'a DOCTYPE with an external entity',
      body: () => '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><appid>&x;</appid></xml>',
      status: 400,
    },
    {
      name: 'billion laughs',
      body: () =>
        `<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]><xml><a>&lol9;</a></xml>`,
      status: 400,
    },
    { name: 'malformed XML', body: () => '<xml><appid>wx</xml>', status: 400 },
    {
      name: 'a body over 64 KiB (refused by nginx)',
      body: () => `<xml><attach>${'a'.repeat(70_000)}</attach></xml>`,
      status: 413,
    },
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
    const lines = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l['path'] === '/wxpay/notify' && l['status'] === 200));
    for (const secret of [fields['sign'] ?? '?', tradeNo, DEMO.key])
      assert.ok(!log.includes(secret), `access log leaks ${secret}`);
  });

  test('only POST reaches the gateway', async () => {
    const res = await fetch(notifyUrl, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 403);
  });
});

describe("errors nginx answers itself speak the path's format: v2 XML, API v3 JSON", () => {
  const url = (path: string): string => `http://127.0.0.1:${nginxPort}${path}`;
  const viaFetch = async (
    path: string,
    init: RequestInit,
  ): Promise<{ status: number; contentType: string; text: string }> => {
    const res = await fetch(url(path), { ...init, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  for (const { path, format } of PATHS) {
    test(`${path}: a body over 64 KiB is 413 in ${format}`, async () => {
      const body =
        format === 'json'
          ? JSON.stringify({ id: 'x', pad: 'a'.repeat(70_000) })
          : `<xml><attach>${'a'.repeat(70_000)}</attach></xml>`;
      const res = await viaFetch(path, {
        method: 'POST',
        headers: { 'content-type': format === 'json' ? 'application/json' : 'text/xml' },
        body,
      });
      assertFailReply(format, res, 413, 'the body exceeds 65536 bytes');
    });

    test(`${path}: a request header too large for nginx is 400 in ${format}`, async () => {
      const res = await rawRequest(
        nginxPort,
        `POST ${path} HTTP/1.1\r\nHost: wechat\r\nX-Pad: ${'p'.repeat(10_000)}\r\nContent-Length: 0\r\n\r\n`,
      );
      const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(res.headers)?.[1] ?? '';
      assertFailReply(format, { status: res.status ?? 0, contentType, text: res.body }, 400, 'malformed request');
    });

    test(`${path}: a malformed chunked body is 400 in ${format}`, async () => {
      const res = await rawRequest(
        nginxPort,
        `POST ${path} HTTP/1.1\r\nHost: wechat\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      );
      const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(res.headers)?.[1] ?? '';
      assertFailReply(format, { status: res.status ?? 0, contentType, text: res.body }, 400, 'malformed request');
    });

    test(`${path}: GET is 403 in ${format}`, async () => {
      assertFailReply(format, await viaFetch(path, { method: 'GET' }), 403, 'use POST');
    });
  }
});

describe('a slow client through nginx is ended', { concurrency: true }, () => {
  // nginx checks its timers to the millisecond; the gateway once a second. Plus a loaded CI runner.
  const slackMs = SLOW_CLIENT_LIMITS.checkIntervalMs + 2_000;

  test('trickling its headers: closed by nginx at client_header_timeout, without an answer', async () => {
    const limitMs = nginxTimeoutMs('client_header_timeout');
    const r = await trickle({
      port: nginxPort,
      head: 'POST /wxpay/v3/notify HTTP/1.1\r\nHost: wechat\r\nX-Slow: ',
      intervalMs: 500,
      giveUpMs: limitMs + 20_000,
    });
    assert.ok(r.closedByServer, `still open after ${r.ms} ms`);
    assert.ok(
      r.ms >= limitMs - 100 && r.ms <= limitMs + slackMs,
      `closed after ${r.ms} ms; the limit is ${limitMs} ms`,
    );
    // nginx logs 408 and closes: a client that cannot send its headers gets no reply to read.
    assert.equal(r.response, '');
  });

  test('trickling its body: streamed to the gateway, which ends it at its requestTimeout', async () => {
    // client_body_timeout (5 s) is a gap between reads, which a byte every 500 ms never reaches:
    // only the gateway's total request limit ends this one.
    assert.ok(nginxTimeoutMs('client_body_timeout') > 500);
    const limitMs = SLOW_CLIENT_LIMITS.requestTimeoutMs;
    const r = await trickle({
      port: nginxPort,
      head: 'POST /wxpay/v3/notify HTTP/1.1\r\nHost: wechat\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{',
      intervalMs: 500,
      giveUpMs: limitMs + 20_000,
    });
    assert.ok(r.closedByServer, `still open after ${r.ms} ms`);
    assert.ok(
      r.ms >= limitMs - 100 && r.ms <= limitMs + slackMs,
      `closed after ${r.ms} ms; the limit is ${limitMs} ms`,
    );
    assert.equal(r.status, 408, r.response);
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

  test('gateway stopped: nginx itself answers 503 FAIL, XML on the v2 paths and JSON on v3', async () => {
    await gateway.stop();
    try {
      for (const { path, format } of PATHS) {
        const body =
          format === 'json'
            ? '{"id":"EV-1","event_type":"TRANSACTION.SUCCESS"}'
            : toNotifyXml(paidFields(newTradeNo('S')));
        const down = await fetch(`http://127.0.0.1:${nginxPort}${path}`, {
          method: 'POST',
          body,
          signal: AbortSignal.timeout(10_000),
        });
        assertFailReply(
          format,
          { status: down.status, contentType: down.headers.get('content-type') ?? '', text: await down.text() },
          503,
          'the service is temporarily unavailable; retry later',
        );
      }
    } finally {
      await gateway.restart();
    }
  });
});
