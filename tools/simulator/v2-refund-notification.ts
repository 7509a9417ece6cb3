import { createCipheriv, createHash } from 'node:crypto';
import { beijingTimeEnd, toNotifyXml } from './notification-builder';

/**
 * A v2 refund notification as WeChat Pay sends it: no `sign`, the refund's facts in `req_info`,
 * base64(AES-256-ECB(PKCS#7)) under the hex MD5 of the merchant's API v2 key. Written from
 * WeChat's documentation, separately from src/notify/v2-refund, like the rest of the simulator.
 */
export interface V2RefundSpec {
  readonly mchId: string;
  readonly appid: string;
  readonly apiKey: string;
  readonly outTradeNo: string;
  readonly transactionId: string;
  readonly outRefundNo: string;
  readonly refundId: string;
  /** Fen. */
  readonly refundFee: number;
  readonly totalFee: number;
  /** SUCCESS, CHANGE or REFUNDCLOSE. */
  readonly status?: string;
  readonly successTime: Date;
  readonly nonceStr: string;
}

/** encryptReqInfo('<root>...</root>', '192006250b4c09247ec02edce69f6a2d') => 'm3Kf...' (base64) */
function encryptReqInfo(plaintext: string, apiKey: string): string {
  const key = Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** The notification's XML body. */
export function v2RefundXml(spec: V2RefundSpec): string {
  const status = spec.status ?? 'SUCCESS';
  const inner: Record<string, string> = {
    out_refund_no: spec.outRefundNo,
    out_trade_no: spec.outTradeNo,
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_fee: String(spec.refundFee),
    refund_id: spec.refundId,
    refund_recv_accout: '支付用户零钱',
    refund_request_source: 'API',
    refund_status: status,
    settlement_refund_fee: String(spec.refundFee),
    settlement_total_fee: String(spec.totalFee),
    // "yyyy-MM-dd HH:mm:ss", Beijing time.
    ...(status === 'SUCCESS'
      ? {
          success_time: beijingTimeEnd(spec.successTime).replace(
            /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/,
            '$1-$2-$3 $4:$5:$6',
          ),
        }
      : {}),
    total_fee: String(spec.totalFee),
    transaction_id: spec.transactionId,
  };
  const root = `<root>\n${Object.entries(inner)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('\n')}\n</root>`;
  return toNotifyXml({
    return_code: 'SUCCESS',
    appid: spec.appid,
    mch_id: spec.mchId,
    nonce_str: spec.nonceStr,
    req_info: encryptReqInfo(root, spec.apiKey),
  });
}
