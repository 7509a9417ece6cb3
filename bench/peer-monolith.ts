// The INDEPENDENT monolith reference: what a team would write without any of our code. One
// node:http process; the published `tenpay` SDK (its pay-notify middleware) parses the XML and
// checks the MD5 sign; a Redlock on the order around one Knex transaction that does the textbook
// money path (SELECT ... FOR UPDATE, compare the amount, UPDATE to PAID, INSERT the notification
// and the ORDER_PAID event); one pino access line per request. It imports nothing from src/ or
// gateway/: only the tables are ours (the bench creates the orders there and checks them there).
//
//   DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379 \
//   WECHAT_APPID=wx... WECHAT_MCH_ID=100... WECHAT_API_KEY=... \
//   PEER_LISTEN=127.0.0.1:0 node dist/bench/peer-monolith.js
//   prints "peer monolith listening on <port>"

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import knex, { type Knex } from 'knex';
import pino from 'pino';
import Redlock, { ExecutionError } from 'redlock';

// tenpay ships no type declarations and there is no @types/tenpay: the part used here, typed by
// hand from node_modules/tenpay/lib/index.js (2.1.18).
interface TenpayKoaContext {
  request: { body: unknown; weixin?: Record<string, unknown> };
  type?: string;
  /** tenpay's reply XML when its middleware refused the notification. */
  body?: unknown;
}
type TenpayMiddleware = (ctx: TenpayKoaContext, next: () => Promise<void>) => Promise<void>;
interface TenpayPayment {
  /** Koa middleware: parses the XML, checks return/result_code, appid, mch_id and the sign. */
  middleware(type: 'pay'): TenpayMiddleware;
}
interface TenpayModule {
  init(config: { appid: string; mchid: string; partnerKey: string }): TenpayPayment;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS package, typed above
const tenpay = require('tenpay') as TenpayModule;

const SUCCESS_XML = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
/** Only fixed ASCII messages reach this: nothing the sender chose is echoed back. */
const failXml = (message: string): string =>
  `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[${message}]]></return_msg></xml>`;

/** Like a body-parser limit; a v2 notification is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

type Outcome = 'PAID' | 'DUPLICATE' | 'CONFLICTING_PAYMENT' | 'ORDER_NOT_FOUND' | 'AMOUNT_MISMATCH';

/** HTTP statuses as the bench's workload expects them (bench/workload.ts EXPECTED_STATUS). */
const REPLY: Readonly<Record<Outcome, { status: number; xml: string }>> = {
  PAID: { status: 200, xml: SUCCESS_XML },
  DUPLICATE: { status: 200, xml: SUCCESS_XML },
  // Already paid by another transaction: answering FAIL would only make WeChat retry forever.
  CONFLICTING_PAYMENT: { status: 200, xml: SUCCESS_XML },
  ORDER_NOT_FOUND: { status: 404, xml: failXml('order not found') },
  AMOUNT_MISMATCH: { status: 409, xml: failXml('total_fee does not match the order') },
};

interface OrderRow {
  id: string;
  total_fee: string;
  status: string;
  transaction_id: string | null;
}

/** The fields the money path needs, each a string (xml2js turns a repeated tag into an array). */
interface PaidNotice {
  mchId: string;
  appid: string;
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  paidAtMs: number;
  resultCode: string;
}

function noticeOf(fields: Record<string, unknown>): PaidNotice | undefined {
  const s = (k: string): string | undefined => {
    const v = fields[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const [mchId, appid, outTradeNo, transactionId, fee, timeEnd, resultCode] = [
    s('mch_id'),
    s('appid'),
    s('out_trade_no'),
    s('transaction_id'),
    s('total_fee'),
    s('time_end'),
    s('result_code'),
  ];
  if (!mchId || !appid || !outTradeNo || !transactionId || !fee || !timeEnd || !resultCode) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(fee)) return undefined;
  // time_end is yyyyMMddHHmmss in China Standard Time (UTC+8).
  const t = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(timeEnd);
  if (!t) return undefined;
  const [y, mo, d, h, mi, se] = t.slice(1).map(Number) as [number, number, number, number, number, number];
  const paidAtMs = Date.UTC(y, mo - 1, d, h - 8, mi, se);
  return { mchId, appid, outTradeNo, transactionId, totalFee: Number(fee), paidAtMs, resultCode };
}

async function main(): Promise<void> {
  const env = process.env;
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const log = pino({ name: 'peer-monolith', level: env['LOG_LEVEL'] ?? 'info' });
  const payment = tenpay.init({
    appid: need('WECHAT_APPID'),
    mchid: need('WECHAT_MCH_ID'),
    partnerKey: need('WECHAT_API_KEY'),
  });
  const verifyNotify = payment.middleware('pay');
  const db = knex({ client: 'pg', connection: need('DATABASE_URL'), pool: { min: 0, max: 10 } });
  const redis = new Redis(env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  redis.on('error', (e: unknown) => log.warn({ err: e }, 'redis'));
  // As the core's defaults: wait up to 2 s for a busy order, 25 ms between attempts (+ jitter).
  const redlock = new Redlock([redis], { driftFactor: 0.01, retryCount: 80, retryDelay: 25, retryJitter: 12 });
  redlock.on('error', () => undefined);

  /** The whole money path for one authentic notification, under the order's lock. */
  const settle = (
    n: PaidNotice,
    meta: { rawBody: string; fields: Record<string, unknown>; clientIp: string; requestId: string },
  ): Promise<Outcome> =>
    redlock.using([`peer-order:${n.mchId}:${n.outTradeNo}`], 10_000, async (signal) =>
      db.transaction(async (trx: Knex.Transaction): Promise<Outcome> => {
        const order = (await trx('orders')
          .select('id', 'total_fee', 'status', 'transaction_id')
          .where({ mch_id: n.mchId, out_trade_no: n.outTradeNo })
          .forUpdate()
          .first()) as OrderRow | undefined;
        if (!order) return 'ORDER_NOT_FOUND';
        if (Number(order.total_fee) !== n.totalFee) return 'AMOUNT_MISMATCH';
        const now = Date.now();
        let outcome: Outcome;
        if (order.status === 'PAID') {
          outcome = order.transaction_id === n.transactionId ? 'DUPLICATE' : 'CONFLICTING_PAYMENT';
        } else {
          // The lock may have expired while we waited on the database: then stop before writing.
          if (signal.aborted) throw signal.error ?? new Error('order lock lost');
          const updated = await trx('orders')
            .where({ id: order.id, status: 'NOTPAY' })
            .update({ status: 'PAID', transaction_id: n.transactionId, paid_at_ms: n.paidAtMs, updated_at_ms: now });
          if (updated !== 1) throw new Error(`order ${n.outTradeNo} was not NOTPAY under its row lock`);
          await trx('payment_events').insert({
            type: 'ORDER_PAID',
            mch_id: n.mchId,
            out_trade_no: n.outTradeNo,
            transaction_id: n.transactionId,
            payload_json: JSON.stringify({
              mch_id: n.mchId,
              out_trade_no: n.outTradeNo,
              transaction_id: n.transactionId,
              total_fee: n.totalFee,
              paid_at_ms: n.paidAtMs,
            }),
            // The unique key makes a second ORDER_PAID for the order fail the transaction.
            dedupe_key: `ORDER_PAID:${n.mchId}:${n.outTradeNo}`,
            created_at_ms: now,
          });
          outcome = 'PAID';
        }
        // Every acknowledged delivery is kept, duplicates included (the audit trail).
        await trx('notifications').insert({
          received_at_ms: now,
          mch_id: n.mchId,
          appid: n.appid,
          out_trade_no: n.outTradeNo,
          transaction_id: n.transactionId,
          result_code: n.resultCode,
          outcome,
          code: outcome,
          fields_json: JSON.stringify(meta.fields),
          raw_body: meta.rawBody,
          client_ip: meta.clientIp,
          request_id: meta.requestId,
        });
        return outcome;
      }),
    );

  const handle = async (
    req: IncomingMessage,
    rawBody: string,
    requestId: string,
  ): Promise<{ status: number; xml: string; outcome: string }> => {
    const ctx: TenpayKoaContext = { request: { body: rawBody } };
    let verified = false;
    await verifyNotify(ctx, async () => {
      verified = true;
    });
    const fields = ctx.request.weixin;
    if (!verified || !fields) {
      // tenpay's own FAIL reply ("sign签名错误", "mch_id不匹配", "XMLDataError", ...).
      return { status: 401, xml: typeof ctx.body === 'string' ? ctx.body : failXml('rejected'), outcome: 'REJECTED' };
    }
    const notice = noticeOf(fields);
    if (!notice) return { status: 400, xml: failXml('missing or malformed fields'), outcome: 'MALFORMED' };
    const realIp = req.headers['x-real-ip'];
    const outcome = await settle(notice, {
      rawBody,
      fields,
      clientIp: typeof realIp === 'string' ? realIp : (req.socket.remoteAddress ?? ''),
      requestId,
    });
    return { ...REPLY[outcome], outcome };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    const send = (status: number, xml: string, outcome: string): void => {
      res.writeHead(status, { 'content-type': 'application/xml; charset=utf-8' });
      res.end(xml);
      log.info(
        {
          request_id: requestId,
          method: req.method,
          path: req.url,
          status,
          outcome,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/wxpay/notify') {
      req.resume();
      send(404, failXml('no such path'), 'NO_ROUTE');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        send(413, failXml('body too large'), 'TOO_LARGE');
        return;
      }
      handle(req, Buffer.concat(chunks).toString('utf8'), requestId).then(
        (r) => send(r.status, r.xml, r.outcome),
        (e: unknown) => {
          // A busy order (lock not obtained within the wait): WeChat retries a FAIL.
          if (e instanceof ExecutionError) {
            send(503, failXml('busy, retry later'), 'LOCK_BUSY');
            return;
          }
          log.error({ err: e, request_id: requestId }, 'notify failed');
          send(500, failXml('internal error, retry later'), 'ERROR');
        },
      );
    });
  });
  server.keepAliveTimeout = 75_000;
  const [host, portText] = (env['PEER_LISTEN'] ?? '127.0.0.1:0').split(':');
  await new Promise<void>((resolve) => server.listen(Number(portText), host, () => resolve()));
  process.stdout.write(`peer monolith listening on ${(server.address() as AddressInfo).port}\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([redis.quit(), db.destroy()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((e: unknown) => {
  process.stderr.write(`peer monolith: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
