import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { DEMO_MERCHANT } from '../config';
import { OrderStatus, PaymentCallbackClient, type Order } from '../gen/payment/callback/v1/payment_callback';
import { isSignType, sign } from '../notify/sign';

const USAGE = `usage: make notify [ARGS="--total-fee 100 --sign-type HMAC-SHA256 ..."]

Creates an order over gRPC, sends a correctly signed WeChat Pay v2 payment notification for it
to a running gateway, and prints the reply and the order's state (like 'stripe trigger').

  --gateway URL        notify URL            (default http://127.0.0.1:8080/wxpay/notify)
  --core HOST:PORT     core gRPC address     (default 127.0.0.1:50051)
  --mch-id ID          merchant              (default the demo merchant 10000100)
  --appid ID           app id                (default wxd930ea5d5a258f4f)
  --key KEY            API v2 key to sign with (default the demo key)
  --out-trade-no NO    order number          (default a random one)
  --total-fee FEN      amount of the order   (default 1)
  --paid-fee FEN       amount in the notification (default = --total-fee; differ to see a mismatch)
  --sign-type TYPE     MD5 or HMAC-SHA256    (default MD5)
  --result FAIL        send a failed-payment notification
  --no-create          do not create the order first`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string', default: 'http://127.0.0.1:8080/wxpay/notify' },
      core: { type: 'string', default: '127.0.0.1:50051' },
      'mch-id': { type: 'string', default: DEMO_MERCHANT.mchId },
      appid: { type: 'string', default: DEMO_MERCHANT.appid },
      key: { type: 'string', default: DEMO_MERCHANT.apiKey },
      'out-trade-no': { type: 'string' },
      'total-fee': { type: 'string', default: '1' },
      'paid-fee': { type: 'string' },
      'sign-type': { type: 'string', default: 'MD5' },
      result: { type: 'string', default: 'SUCCESS' },
      'no-create': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const signType = values['sign-type'];
  if (!isSignType(signType)) throw new Error('--sign-type must be MD5 or HMAC-SHA256');
  const outTradeNo = values['out-trade-no'] ?? `demo${Date.now()}${randomBytes(3).toString('hex')}`;
  const totalFee = Number(values['total-fee']);
  const client = new PaymentCallbackClient(values.core, credentials.createInsecure());
  try {
    if (!values['no-create']) {
      const created = await unary<Order>((cb) => client.createOrder(
        { mchId: values['mch-id'], appid: values.appid, outTradeNo, totalFee, feeType: 'CNY' },
        new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => cb(err, res?.order)));
      process.stdout.write(`order    ${created.outTradeNo}: ${created.totalFee} fen, ${OrderStatus[created.status]}\n`);
    }
    const fields: Record<string, string> = {
      appid: values.appid,
      attach: '支付测试',
      bank_type: 'CMC',
      cash_fee: values['paid-fee'] ?? values['total-fee'],
      fee_type: 'CNY',
      is_subscribe: 'Y',
      mch_id: values['mch-id'],
      nonce_str: randomBytes(16).toString('hex'),
      openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
      out_trade_no: outTradeNo,
      result_code: values.result,
      return_code: 'SUCCESS',
      time_end: beijingTimeEnd(new Date()),
      total_fee: values['paid-fee'] ?? values['total-fee'],
      trade_type: 'JSAPI',
      transaction_id: `42000${Date.now()}${randomBytes(4).toString('hex')}`.slice(0, 28),
    };
    if (signType !== 'MD5') fields['sign_type'] = signType;
    fields['sign'] = sign(fields, values.key, signType);
    const body = `<xml>${Object.entries(fields).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</xml>`;
    const res = await fetch(values.gateway, { method: 'POST', headers: { 'content-type': 'text/xml' }, body, signal: AbortSignal.timeout(5_000) });
    process.stdout.write(`reply    HTTP ${res.status} ${await res.text()}\n`);
    const after = await unary<Order>((cb) => client.getOrder({ mchId: values['mch-id'], outTradeNo }, new Metadata(),
      { deadline: Date.now() + 5_000 }, (err, res2) => cb(err, res2?.order)));
    process.stdout.write(`order    ${after.outTradeNo}: ${OrderStatus[after.status]}`
      + `${after.transactionId ? `, transaction ${after.transactionId}, paid at ${after.paidAt?.toISOString() ?? '?'}` : ''}\n`);
  } finally {
    client.close();
  }
}

function unary<T>(call: (cb: (err: Error | null, value: T | undefined) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((err, value) => (err || value === undefined ? reject(err ?? new Error('empty response')) : resolve(value))));
}

/** WeChat's time_end: yyyyMMddHHmmss in China Standard Time. */
function beijingTimeEnd(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

main().catch((e: unknown) => {
  process.stderr.write(`notify: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
