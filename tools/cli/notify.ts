import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { DEMO_MERCHANT } from '../../src/config';
import { OrderStatus, PaymentCallbackClient, type Order } from '../../src/gen/payment/callback/v1/payment_callback';
import { isSignType } from '../../src/notify/sign';
import { v2Signature } from '../../harness/v2-signature';
import { v2RefundXml } from '../simulator/v2-refund-notification';
import { refundResource, transactionResource, v3Delivery } from '../../harness/v3-notification';
import { DEMO_V3_KEY_DIR, DEMO_V3_MERCHANT, readDemoV3Keys } from './demo-v3-merchant';

const USAGE = `usage: make notify [ARGS="--api v3 --refund 50 ..."]

Creates an order over gRPC, sends a correctly signed WeChat Pay payment notification for it to a
running gateway (v2 XML by default, or APIv3 JSON), optionally a refund notification after it,
and prints each reply and the order's state (like 'stripe trigger').

  --api v2|v3          which notification API      (default v2; v3 uses the APIv3 demo merchant
                       ${DEMO_V3_MERCHANT.mchId}, whose keys make run generates under data/demo-merchant-v3/)
  --refund FEN         then send a SUCCESS refund notification of FEN for the order (v2: req_info
                       encrypted with the v2 key; v3: REFUND.SUCCESS)
  --refund-status S    v2: SUCCESS, CHANGE or REFUNDCLOSE; v3: SUCCESS, ABNORMAL or CLOSED (default SUCCESS)
  --no-pay             send no payment (with --out-trade-no --no-create --refund: refund a paid order)
  --gateway URL        v2 payment notify URL   (default http://127.0.0.1:8080/wxpay/notify)
  --refund-url URL     v2 refund notify URL    (default /wxpay/refund/notify on --gateway's host)
  --v3-url URL         APIv3 notify URL        (default /wxpay/v3/notify on --gateway's host)
  --core HOST:PORT     core gRPC address       (default 127.0.0.1:50051)
  --token TOKEN        bearer token for the core, when it has callers configured
  --mch-id ID          merchant                (default 10000100 for v2, ${DEMO_V3_MERCHANT.mchId} for v3)
  --appid ID           app id                  (default the merchant's demo app id)
  --key KEY            API v2 key to sign with (default the demo key; v3: its generated v2 key)
  --keys-dir DIR       the v3 demo merchant's keys (default data/demo-merchant-v3 under the repository)
  --out-trade-no NO    order number            (default a random one)
  --total-fee FEN      amount of the order     (default 1, or 100 with --refund)
  --paid-fee FEN       amount in the notification (default = --total-fee; differ to see a mismatch)
  --sign-type TYPE     v2: MD5 or HMAC-SHA256  (default MD5)
  --result FAIL        v2: send a failed-payment notification
  --no-create          do not create the order first`;

/** The repository root: this file runs as dist/tools/cli/notify.js. */
const ROOT = join(__dirname, '..', '..');

class UsageError extends Error {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      api: { type: 'string', default: 'v2' },
      refund: { type: 'string' },
      'refund-status': { type: 'string', default: 'SUCCESS' },
      'no-pay': { type: 'boolean', default: false },
      gateway: { type: 'string', default: 'http://127.0.0.1:8080/wxpay/notify' },
      'refund-url': { type: 'string' },
      'v3-url': { type: 'string' },
      core: { type: 'string', default: '127.0.0.1:50051' },
      token: { type: 'string' },
      'mch-id': { type: 'string' },
      appid: { type: 'string' },
      key: { type: 'string' },
      'keys-dir': { type: 'string' },
      'out-trade-no': { type: 'string' },
      'total-fee': { type: 'string' },
      'paid-fee': { type: 'string' },
      'sign-type': { type: 'string', default: 'MD5' },
      result: { type: 'string', default: 'SUCCESS' },
      'no-create': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const api = values.api;
  if (api !== 'v2' && api !== 'v3') throw new UsageError('--api must be v2 or v3');
  const signType = values['sign-type'];
  if (!isSignType(signType)) throw new UsageError('--sign-type must be MD5 or HMAC-SHA256');
  const refundFee = values.refund === undefined ? undefined : fen(values.refund, '--refund');
  const totalFee = fen(
    values['total-fee'] ?? (refundFee === undefined ? '1' : String(Math.max(100, refundFee))),
    '--total-fee',
  );
  const paidFee = values['paid-fee'] === undefined ? totalFee : fen(values['paid-fee'], '--paid-fee');
  const v3Keys = api === 'v3' ? readDemoV3Keys(values['keys-dir'] ?? join(ROOT, DEMO_V3_KEY_DIR)) : undefined;
  const mchId = values['mch-id'] ?? (api === 'v3' ? DEMO_V3_MERCHANT.mchId : DEMO_MERCHANT.mchId);
  const appid = values.appid ?? (api === 'v3' ? DEMO_V3_MERCHANT.appid : DEMO_MERCHANT.appid);
  const apiKey = values.key ?? v3Keys?.apiKey ?? DEMO_MERCHANT.apiKey;
  const outTradeNo = values['out-trade-no'] ?? `demo${Date.now()}${randomBytes(3).toString('hex')}`;
  const urls = {
    v2: values.gateway,
    refund: values['refund-url'] ?? new URL('/wxpay/refund/notify', values.gateway).toString(),
    v3: values['v3-url'] ?? new URL('/wxpay/v3/notify', values.gateway).toString(),
  };

  const metadata = (): Metadata => {
    const m = new Metadata();
    if (values.token) m.set('authorization', `Bearer ${values.token}`);
    return m;
  };
  const client = new PaymentCallbackClient(values.core, credentials.createInsecure());
  const getOrder = (): Promise<Order> =>
    unary<Order>((cb) =>
      client.getOrder({ mchId, outTradeNo }, metadata(), { deadline: Date.now() + 5_000 }, (err, res) =>
        cb(err, res?.order),
      ),
    );
  try {
    if (!values['no-create']) {
      const created = await unary<Order>((cb) =>
        client.createOrder(
          { mchId, appid, outTradeNo, totalFee, feeType: 'CNY' },
          metadata(),
          { deadline: Date.now() + 5_000 },
          (err, res) => cb(err, res?.order),
        ),
      );
      process.stdout.write(`order    ${created.outTradeNo}: ${created.totalFee} fen, ${OrderStatus[created.status]}\n`);
    }
    const transactionId = `42000${Date.now()}${randomBytes(4).toString('hex')}`.slice(0, 28);
    const now = new Date();
    if (!values['no-pay']) {
      if (api === 'v2') {
        const fields: Record<string, string> = {
          appid,
          attach: '支付测试',
          bank_type: 'CMC',
          cash_fee: String(paidFee),
          fee_type: 'CNY',
          is_subscribe: 'Y',
          mch_id: mchId,
          nonce_str: randomBytes(16).toString('hex'),
          openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
          out_trade_no: outTradeNo,
          result_code: values.result,
          return_code: 'SUCCESS',
          time_end: beijingTimeEnd(now),
          total_fee: String(paidFee),
          trade_type: 'JSAPI',
          transaction_id: transactionId,
        };
        if (signType !== 'MD5') fields['sign_type'] = signType;
        fields['sign'] = v2Signature(fields, apiKey, signType);
        const body = `<xml>${Object.entries(fields)
          .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
          .join('')}</xml>`;
        await post('payment', urls.v2, { 'content-type': 'text/xml' }, body);
      } else {
        const keys = v3Keys as NonNullable<typeof v3Keys>;
        const resource = transactionResource({
          mchid: mchId,
          appid,
          outTradeNo,
          transactionId,
          total: paidFee,
          successTime: now,
        });
        const d = v3Delivery(
          'TRANSACTION.SUCCESS',
          resource,
          keys.apiV3Key,
          { id: DEMO_V3_MERCHANT.publicKeyId, privateKey: keys.wechatpayPrivateKeyPem },
          now,
        );
        await post('payment', urls.v3, d.headers, d.body);
      }
      await printOrder(await getOrder());
    }
    if (refundFee !== undefined) {
      const order = await getOrder();
      if (!order.transactionId)
        throw new Error(`order ${outTradeNo} is ${OrderStatus[order.status]}: only a paid order can be refunded`);
      const outRefundNo = `refund${Date.now()}${randomBytes(2).toString('hex')}`;
      const refundId = `50300${Date.now()}${randomBytes(4).readUInt32BE(0)}`.slice(0, 28);
      const status = values['refund-status'];
      if (api === 'v2') {
        if (!['SUCCESS', 'CHANGE', 'REFUNDCLOSE'].includes(status))
          throw new UsageError('--refund-status for v2 must be SUCCESS, CHANGE or REFUNDCLOSE');
        const body = v2RefundXml({
          mchId,
          appid,
          apiKey,
          outTradeNo,
          transactionId: order.transactionId,
          outRefundNo,
          refundId,
          refundFee,
          totalFee: order.totalFee,
          status,
          successTime: new Date(),
          nonceStr: randomBytes(16).toString('hex'),
        });
        await post('refund', urls.refund, { 'content-type': 'text/xml' }, body);
      } else {
        if (status !== 'SUCCESS' && status !== 'ABNORMAL' && status !== 'CLOSED')
          throw new UsageError('--refund-status for v3 must be SUCCESS, ABNORMAL or CLOSED');
        const keys = v3Keys as NonNullable<typeof v3Keys>;
        const resource = refundResource({
          mchid: mchId,
          outTradeNo,
          transactionId: order.transactionId,
          outRefundNo,
          refundId,
          refund: refundFee,
          total: order.totalFee,
          status,
          successTime: new Date(),
        });
        const d = v3Delivery(
          `REFUND.${status}`,
          resource,
          keys.apiV3Key,
          { id: DEMO_V3_MERCHANT.publicKeyId, privateKey: keys.wechatpayPrivateKeyPem },
          new Date(),
        );
        await post('refund', urls.v3, d.headers, d.body);
      }
      await printOrder(await getOrder());
    }
  } finally {
    client.close();
  }
}

async function post(what: string, url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  process.stdout.write(`${what.padEnd(8)} ${url}: HTTP ${res.status}${text ? ` ${text}` : ''}\n`);
}

async function printOrder(o: Order): Promise<void> {
  process.stdout.write(
    `order    ${o.outTradeNo}: ${OrderStatus[o.status]}` +
      `${o.transactionId ? `, transaction ${o.transactionId}, paid at ${o.paidAt?.toISOString() ?? '?'}` : ''}` +
      `${o.refundedFee ? `, refunded ${o.refundedFee} of ${o.totalFee} fen` : ''}\n`,
  );
}

function fen(text: string, name: string): number {
  if (!/^(0|[1-9]\d{0,11})$/.test(text)) throw new UsageError(`${name} must be a whole number of fen, not ${text}`);
  return Number(text);
}

function unary<T>(call: (cb: (err: Error | null, value: T | undefined) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    call((err, value) => (err || value === undefined ? reject(err ?? new Error('empty response')) : resolve(value))),
  );
}

/** WeChat's time_end: yyyyMMddHHmmss in China Standard Time. */
function beijingTimeEnd(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

main().catch((e: unknown) => {
  process.stderr.write(`notify: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')))
    process.stderr.write('try --help\n');
  process.exit(1);
});
