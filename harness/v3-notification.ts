import { createCipheriv, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * Builds APIv3 notifications for tests, from WeChat's documented rules and separately from
 * src/notify/v3: the resource is AEAD_AES_256_GCM (12-byte nonce, associated_data as AAD, the tag
 * appended to the ciphertext), and the signature is RSA-SHA256 over
 * "timestamp\nnonce\nbody\n", named by Wechatpay-Serial.
 */
export interface V3TestKey {
  /** PUB_KEY_ID_... or a certificate serial. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export function newV3Key(id: string): V3TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { id, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
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

/** The notification body WeChat sends, with the resource encrypted under `apiV3Key`. */
export function v3Body(id: string, eventType: string, resource: Record<string, unknown>, apiV3Key: string): string {
  const associatedData = eventType.startsWith('REFUND.') ? 'refund' : 'transaction';
  return JSON.stringify({
    id,
    create_time: '2026-11-27T12:00:00+08:00',
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary: eventType.startsWith('REFUND.') ? '退款成功' : '支付成功',
    resource: encryptResource(JSON.stringify(resource), apiV3Key, associatedData),
  });
}

/** The four Wechatpay-* headers for `body`, signed with `key` at `timestampSeconds`. */
export function signV3(
  body: string,
  key: Pick<V3TestKey, 'id' | 'privateKey'>,
  timestampSeconds: number,
  nonce = randomBytes(16).toString('hex'),
): Record<string, string> {
  const message = Buffer.from(`${timestampSeconds}\n${nonce}\n${body}\n`, 'utf8');
  return {
    'Wechatpay-Timestamp': String(timestampSeconds),
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Serial': key.id,
    'Wechatpay-Signature': sign('sha256', message, key.privateKey).toString('base64'),
  };
}

/** A TRANSACTION.SUCCESS resource (direct merchant shape). */
export function transactionResource(t: {
  mchid: string;
  appid: string;
  outTradeNo: string;
  transactionId: string;
  total: number;
  currency?: string;
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
    success_time: '2026-11-27T12:00:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: {
      total: t.total,
      payer_total: t.total,
      currency: t.currency ?? 'CNY',
      payer_currency: t.currency ?? 'CNY',
    },
  };
}

/** A REFUND.* resource. */
export function refundResource(r: {
  mchid: string;
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  refund: number;
  total: number;
  status?: 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
}): Record<string, unknown> {
  const status = r.status ?? 'SUCCESS';
  return {
    mchid: r.mchid,
    out_trade_no: r.outTradeNo,
    transaction_id: r.transactionId,
    out_refund_no: r.outRefundNo,
    refund_id: `5030${r.outRefundNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
    refund_status: status,
    ...(status === 'SUCCESS' ? { success_time: '2026-11-28T10:00:00+08:00' } : {}),
    user_received_account: '支付用户零钱',
    amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund },
  };
}
