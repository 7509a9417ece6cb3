import { createCipheriv, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * APIv3 notifications as WeChat Pay sends them, written from its documentation and separately
 * from src/notify/v3: the resource is AEAD_AES_256_GCM under the merchant's APIv3 key (12-byte
 * nonce, associated_data as AAD, the tag after the ciphertext), and the body is signed with
 * RSA-SHA256 over "timestamp\nnonce\nbody\n" by the key that Wechatpay-Serial names.
 */
export interface V3Signer {
  /** PUB_KEY_ID_... (a WeChat Pay public key) or a platform certificate's serial. */
  readonly id: string;
  readonly privateKey: KeyObject | string;
}

/** A v3 notification ready to POST: its JSON body and the four Wechatpay-* headers. */
export interface V3Delivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** WeChat's RFC 3339 times are Beijing time: rfc3339Beijing(new Date(0)) => '1970-01-01T08:00:00+08:00' */
function rfc3339Beijing(d: Date): string {
  return `${new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}

function encryptResource(plaintext: string, apiV3Key: string, associatedData: string): Record<string, string> {
  const nonce = randomBytes(9).toString('base64'); // 12 characters
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    original_type: associatedData,
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: sealed.toString('base64'),
    associated_data: associatedData,
    nonce,
  };
}

/** Body and headers of one event (TRANSACTION.SUCCESS, REFUND.SUCCESS...) about `resource`. */
export function v3Delivery(
  eventType: string,
  resource: Record<string, unknown>,
  apiV3Key: string,
  signer: V3Signer,
  now: Date,
): V3Delivery {
  const refund = eventType.startsWith('REFUND.');
  const body = JSON.stringify({
    id: randomBytes(16).toString('hex'),
    create_time: rfc3339Beijing(now),
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary: refund ? '退款成功' : '支付成功',
    resource: encryptResource(JSON.stringify(resource), apiV3Key, refund ? 'refund' : 'transaction'),
  });
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = randomBytes(16).toString('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Serial': signer.id,
      'Wechatpay-Signature': sign(
        'sha256',
        Buffer.from(`${timestamp}\n${nonce}\n${body}\n`, 'utf8'),
        signer.privateKey,
      ).toString('base64'),
    },
  };
}

/** A TRANSACTION.SUCCESS resource of a direct merchant. Amounts in fen. */
export function v3TransactionResource(t: {
  mchid: string;
  appid: string;
  outTradeNo: string;
  transactionId: string;
  total: number;
  successTime: Date;
}): Record<string, unknown> {
  return {
    appid: t.appid,
    mchid: t.mchid,
    out_trade_no: t.outTradeNo,
    transaction_id: t.transactionId,
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'CMC',
    success_time: rfc3339Beijing(t.successTime),
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: t.total, payer_total: t.total, currency: 'CNY', payer_currency: 'CNY' },
  };
}

/** A REFUND.* resource: SUCCESS, ABNORMAL or CLOSED. */
export function v3RefundResource(r: {
  mchid: string;
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  refundId: string;
  refund: number;
  total: number;
  status?: 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
  successTime: Date;
}): Record<string, unknown> {
  const status = r.status ?? 'SUCCESS';
  return {
    mchid: r.mchid,
    out_trade_no: r.outTradeNo,
    transaction_id: r.transactionId,
    out_refund_no: r.outRefundNo,
    refund_id: r.refundId,
    refund_status: status,
    ...(status === 'SUCCESS' ? { success_time: rfc3339Beijing(r.successTime) } : {}),
    user_received_account: '支付用户零钱',
    amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund },
  };
}
