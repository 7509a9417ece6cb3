import { createCipheriv, createHash } from 'node:crypto';

/**
 * Builds v2 refund notifications for tests, from WeChat's documented rule and separately from
 * src/notify/v2-refund: req_info is base64(AES-256-ECB(PKCS#7, key = hex MD5 of the API key as 32
 * ASCII bytes)) of a flat <root> document.
 */
export function encryptReqInfo(plaintext: string, apiKey: string): string {
  const key = Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** The decrypted req_info as WeChat lays it out: one CDATA element per line under <root>. */
export function rootXml(fields: Record<string, string>): string {
  return `<root>\n${Object.entries(fields)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('\n')}\n</root>`;
}

export interface RefundInput {
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  readonly refundFee: number;
  readonly totalFee?: number;
  /** SUCCESS (default), CHANGE or REFUNDCLOSE. */
  readonly status?: string;
  readonly transactionId?: string;
}

/** The fields of a decrypted req_info, as WeChat documents them. */
export function refundInnerFields(r: RefundInput, overrides: Record<string, string> = {}): Record<string, string> {
  const status = r.status ?? 'SUCCESS';
  return {
    out_refund_no: r.outRefundNo,
    out_trade_no: r.outTradeNo,
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_fee: String(r.refundFee),
    refund_id: `5030${r.outRefundNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
    refund_recv_accout: '支付用户零钱',
    refund_request_source: 'API',
    refund_status: status,
    settlement_refund_fee: String(r.refundFee),
    settlement_total_fee: String(r.totalFee ?? 100),
    ...(status === 'SUCCESS' ? { success_time: '2026-11-28 10:00:00' } : {}),
    total_fee: String(r.totalFee ?? 100),
    transaction_id: r.transactionId ?? `4200${r.outTradeNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
    ...overrides,
  };
}

/** The outer <xml> fields of a refund notification, req_info encrypted with `apiKey`. */
export function refundEnvelope(
  inner: Record<string, string>,
  apiKey: string,
  envelope: { mchId: string; appid: string; subMchId?: string },
): Record<string, string> {
  return {
    return_code: 'SUCCESS',
    appid: envelope.appid,
    mch_id: envelope.mchId,
    ...(envelope.subMchId ? { sub_mch_id: envelope.subMchId } : {}),
    nonce_str: 'TeqClE3i0mvn3DrK',
    req_info: encryptReqInfo(rootXml(inner), apiKey),
  };
}
