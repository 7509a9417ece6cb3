import { createCipheriv, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * Builds APIv3 notifications for tests and make notify (the one v3 builder, as v2-signature.ts is
 * the one v2 signer), from WeChat's documented rules and separately from
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

/** A key that signs notifications: a test's KeyObject, or the demo merchant's PEM (make notify). */
type V3Signer = Pick<V3TestKey, 'id'> & { readonly privateKey: KeyObject | string };

/** WeChat's RFC 3339 times are Beijing time: rfc3339Beijing(new Date(0)) => '1970-01-01T08:00:00+08:00' */
function rfc3339Beijing(d: Date): string {
  return `${new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
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
export function v3Body(
  id: string,
  eventType: string,
  resource: Record<string, unknown>,
  apiV3Key: string,
  createTime = '2026-11-27T12:00:00+08:00',
): string {
  const associatedData = eventType.startsWith('REFUND.') ? 'refund' : 'transaction';
  return JSON.stringify({
    id,
    create_time: createTime,
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary: eventType.startsWith('REFUND.') ? '退款成功' : '支付成功',
    resource: encryptResource(JSON.stringify(resource), apiV3Key, associatedData),
  });
}

/** The four Wechatpay-* headers for `body`, signed with `key` at `timestampSeconds`. */
export function signV3(
  body: string,
  key: V3Signer,
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

/**
 * A v3 notification ready to POST, as make notify sends it: a fresh id, created and signed `now`.
 *
 * v3Delivery('TRANSACTION.SUCCESS', transactionResource({...}), apiV3Key, key, new Date())
 *   => { body: '{"id":"9f...","create_time":"2026-...+08:00",...}', headers: { 'Wechatpay-Serial': key.id, ... } }
 */
export function v3Delivery(
  eventType: string,
  resource: Record<string, unknown>,
  apiV3Key: string,
  signer: V3Signer,
  now: Date,
): { readonly body: string; readonly headers: Record<string, string> } {
  const body = v3Body(randomBytes(16).toString('hex'), eventType, resource, apiV3Key, rfc3339Beijing(now));
  return {
    body,
    headers: { 'content-type': 'application/json', ...signV3(body, signer, Math.floor(now.getTime() / 1000)) },
  };
}

/** A TRANSACTION.SUCCESS resource (direct merchant shape); success_time fixed unless given. */
export function transactionResource(t: {
  mchid: string;
  appid: string;
  outTradeNo: string;
  transactionId: string;
  total: number;
  currency?: string;
  successTime?: Date;
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
    success_time: t.successTime ? rfc3339Beijing(t.successTime) : '2026-11-27T12:00:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: {
      total: t.total,
      payer_total: t.total,
      currency: t.currency ?? 'CNY',
      payer_currency: t.currency ?? 'CNY',
    },
  };
}

/** A REFUND.* resource; refund_id derived and success_time fixed unless given. */
export function refundResource(r: {
  mchid: string;
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  refund: number;
  total: number;
  status?: 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
  refundId?: string;
  successTime?: Date;
}): Record<string, unknown> {
  const status = r.status ?? 'SUCCESS';
  return {
    mchid: r.mchid,
    out_trade_no: r.outTradeNo,
    transaction_id: r.transactionId,
    out_refund_no: r.outRefundNo,
    refund_id: r.refundId ?? `5030${r.outRefundNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
    refund_status: status,
    ...(status === 'SUCCESS'
      ? { success_time: r.successTime ? rfc3339Beijing(r.successTime) : '2026-11-28T10:00:00+08:00' }
      : {}),
    user_received_account: '支付用户零钱',
    amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund },
  };
}
