import type { Merchant, MerchantDirectory } from '../merchant';
import { result, type NotifyCode, type NotifyResult } from '../outcome';
import type { PaidNotice } from '../payment-notice';
import type { RefundChange } from '../refund-decide';
import { decryptV3Resource } from './decrypt-resource';
import { parseV3Notification, type V3Notification } from './notification';
import { findV3Key, type V3PlatformKeys } from './platform-keys';
import { parseV3Refund, V3_REFUND_EVENTS } from './refund';
import { parseV3Transaction } from './transaction';
import { verifyV3Signature, type V3SignedMessage, type V3VerifyError } from './verify-signature';

/** An APIv3 notification as the gateway hands it over: its headers (any case) and the raw body. */
export interface V3Received {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What the notification asks for, once proven and decrypted. */
export type V3Read =
  | {
      readonly ok: true;
      readonly kind: 'payment';
      readonly merchant: Merchant;
      readonly notification: V3Notification;
      readonly plaintext: string;
      readonly notice: PaidNotice;
    }
  | {
      readonly ok: true;
      readonly kind: 'refund';
      readonly merchant: Merchant;
      readonly notification: V3Notification;
      readonly plaintext: string;
      readonly change: RefundChange;
    }
  | { readonly ok: false; readonly result: NotifyResult };

/** The event types this service acts on; anything else is answered UNSUPPORTED_EVENT_TYPE. */
const V3_PAYMENT_EVENT = 'TRANSACTION.SUCCESS';
const REFUND_EVENTS: readonly string[] = Object.values(V3_REFUND_EVENTS);
const NO_KEYS: V3PlatformKeys = Object.freeze({ byId: new Map() });

/**
 * Proves, decrypts and reads an APIv3 notification. The merchant is the one whose platform keys
 * hold Wechatpay-Serial and whose APIv3 key decrypts the resource (the GCM tag proves the key);
 * the decrypted mchid must be that merchant. TRANSACTION.SUCCESS becomes the same PaidNotice a v2
 * payment notification does, REFUND.* the same RefundChange as a v2 refund; other event types are
 * proven and decrypted, then refused as UNSUPPORTED_EVENT_TYPE. Pure: `now` is the clock.
 *
 * readV3Notification({ headers: { 'wechatpay-serial': 'D7CE59D1F522D701', ... }, body }, merchants,
 *   new Date(1624523846 * 1000))
 *   => { ok: false, result: { outcome: 'MALFORMED', code: 'UNSUPPORTED_EVENT_TYPE', message: 'event_type PAYSCORE.USER_OPEN_SERVICE ...' } }
 */
export function readV3Notification(received: V3Received, merchants: MerchantDirectory, now: Date): V3Read {
  const header = headerReader(received.headers);
  const message: V3SignedMessage = {
    timestamp: header('Wechatpay-Timestamp'),
    nonce: header('Wechatpay-Nonce'),
    signature: header('Wechatpay-Signature'),
    serial: header('Wechatpay-Serial'),
    body: received.body,
  };
  const serial = message.serial ?? '';
  const candidates = [...merchants.values()].filter((m) => m.v3Keys && m.apiV3Key && findV3Key(m.v3Keys, serial));
  // With no candidate, verify against no keys: the header, probe and timestamp rules still come
  // first and name the real problem; otherwise it is UNKNOWN_SERIAL.
  const verifications = (candidates.length > 0 ? candidates : [undefined]).map((m) => ({
    merchant: m,
    verdict: verifyV3Signature(message, m?.v3Keys ?? NO_KEYS, now),
  }));
  const verified = verifications
    .filter((v) => v.verdict.ok)
    .map((v) => v.merchant)
    .filter((m): m is Merchant => m !== undefined);
  if (verified.length === 0) {
    const first = verifications[0]?.verdict;
    return fail(
      rejection(
        first && !first.ok ? first.error : { code: 'INVALID_SIGNATURE', message: 'the signature does not verify' },
      ),
    );
  }

  const body = parseV3Notification(received.body);
  if (!body.ok) return fail(result('MALFORMED', body.error.code, body.error.message));
  const notification = body.value;

  let merchant: Merchant | undefined;
  let plaintext: string | undefined;
  let firstError = '';
  for (const m of verified) {
    const decrypted = decryptV3Resource(notification.resource, m.apiV3Key ?? '');
    if (decrypted.ok) {
      merchant = m;
      plaintext = decrypted.plaintext;
      break;
    }
    if (decrypted.error.code === 'UNSUPPORTED_ALGORITHM')
      return fail(result('MALFORMED', 'INVALID_FIELD', decrypted.error.message));
    firstError ||= decrypted.error.message;
  }
  if (!merchant || plaintext === undefined) return fail(result('REJECTED', 'RESOURCE_UNDECRYPTABLE', firstError));

  const owner = declaredMerchant(plaintext);
  if (owner !== undefined && owner !== merchant.mchId) {
    return fail(
      result(
        'REJECTED',
        'MERCHANT_MISMATCH',
        `the resource is for mchid ${owner.slice(0, 32)}, but was signed and encrypted for mch_id ${merchant.mchId}`,
      ),
    );
  }

  if (notification.eventType === V3_PAYMENT_EVENT) {
    const tx = parseV3Transaction(plaintext);
    if (!tx.ok) return fail(result('MALFORMED', tx.error.code, tx.error.message));
    const t = tx.value;
    const owner = orderOwner(merchant, t.mchid, t.subMchid);
    if (!owner.ok) return fail(owner.result);
    if (!merchant.appids.includes(t.appid)) {
      return fail(
        result(
          'REJECTED',
          'UNKNOWN_MERCHANT',
          `mch_id ${merchant.mchId} with appid ${t.appid} is not configured here; add the appid to the merchant`,
        ),
      );
    }
    return {
      ok: true,
      kind: 'payment',
      merchant,
      notification,
      plaintext,
      notice: {
        mchId: owner.mchId,
        appid: t.appid,
        outTradeNo: t.outTradeNo,
        resultCode: 'SUCCESS',
        transactionId: t.transactionId,
        totalFee: t.amount.total,
        feeType: t.amount.currency,
        paidAt: t.successTime,
      },
    };
  }
  if (REFUND_EVENTS.includes(notification.eventType)) {
    const refund = parseV3Refund(plaintext, notification.eventType);
    if (!refund.ok) return fail(result('MALFORMED', refund.error.code, refund.error.message));
    const r = refund.value;
    const refundOwner = orderOwner(merchant, r.mchid, r.subMchid);
    if (!refundOwner.ok) return fail(refundOwner.result);
    return {
      ok: true,
      kind: 'refund',
      merchant,
      notification,
      plaintext,
      change: {
        mchId: refundOwner.mchId,
        appid: undefined,
        outTradeNo: r.outTradeNo,
        transactionId: r.transactionId,
        outRefundNo: r.outRefundNo,
        refundId: r.refundId,
        totalFee: r.amount.total,
        refundFee: r.amount.refund,
        state: r.refundStatus,
        reportedStatus: r.refundStatus,
        successTime: r.successTime,
      },
    };
  }
  return fail(
    result(
      'MALFORMED',
      'UNSUPPORTED_EVENT_TYPE',
      `event_type ${notification.eventType} is authentic but not handled here (only ${V3_PAYMENT_EVENT} and ${REFUND_EVENTS.join(', ')}); ` +
        "point that product's notify_url at the service that handles it",
    ),
  );
}

/**
 * Whose order the resource is about: the merchant that signed and encrypted it must be the one
 * the resource names, and a sub-merchant must be one that provider lists.
 */
function orderOwner(
  merchant: Merchant,
  mchid: string,
  subMchid: string | undefined,
): { ok: true; mchId: string } | { ok: false; result: NotifyResult } {
  if (mchid !== merchant.mchId) {
    return {
      ok: false,
      result: result(
        'REJECTED',
        'MERCHANT_MISMATCH',
        `the resource is for mchid ${mchid.slice(0, 32)}, but was signed and encrypted for mch_id ${merchant.mchId}`,
      ),
    };
  }
  if (subMchid === undefined) return { ok: true, mchId: mchid };
  if (!merchant.subMchIds?.includes(subMchid)) {
    return {
      ok: false,
      result: result(
        'REJECTED',
        'UNKNOWN_SUB_MERCHANT',
        `sub_mchid ${subMchid.slice(0, 32)} is not listed in sub_mch_ids of mch_id ${merchant.mchId}`,
      ),
    };
  }
  return { ok: true, mchId: subMchid };
}

/** The signature probe is reported apart from forgeries, so monitoring can tell them apart. */
function rejection(error: V3VerifyError): NotifyResult {
  switch (error.code) {
    case 'MISSING_HEADER':
      return result('MALFORMED', 'MISSING_HEADER', error.message);
    case 'INVALID_HEADER':
      return result('MALFORMED', 'INVALID_HEADER', error.message);
    case 'TIMESTAMP_OUT_OF_WINDOW':
    case 'SIGNATURE_PROBE':
    case 'UNKNOWN_SERIAL':
    case 'CERTIFICATE_NOT_VALID':
    case 'INVALID_SIGNATURE':
      return result('REJECTED', error.code satisfies NotifyCode, error.message);
  }
}

/** The decrypted resource's own merchant: mchid, or sp_mchid in the service-provider shape. */
function declaredMerchant(plaintext: string): string | undefined {
  let root: unknown;
  try {
    root = JSON.parse(plaintext);
  } catch {
    return undefined; // the typed parsers report it
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return undefined;
  const record = root as Record<string, unknown>;
  for (const key of ['sp_mchid', 'mchid']) {
    const value = Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function headerReader(headers: Readonly<Record<string, string>>): (name: string) => string | undefined {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
}

function fail(r: NotifyResult): V3Read {
  return { ok: false, result: r };
}
