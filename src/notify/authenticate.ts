import { v2KeysAt, type Merchant, type MerchantDirectory } from './merchant';
import { v2Merchant } from './v2-merchant';
import { result, type NotifyResult } from './outcome';
import { isSignType, sign, signaturesEqual } from './sign';

export type Authentication =
  { readonly ok: true; readonly merchant: Merchant } | { readonly ok: false; readonly result: NotifyResult };

/**
 * Proves a notification came from WeChat for a merchant we serve: the merchant is configured for
 * this appid (and, from a service provider, for its sub_mch_id), the `sign_type` is one the
 * merchant allows (absent means MD5, as WeChat documents), and the signature matches the current
 * key, or the previous one while its rotation overlap lasts at `now` (without `now`, only the
 * current key). Pure: nothing else is read.
 */
export function authenticate(
  fields: Readonly<Record<string, string>>,
  merchants: MerchantDirectory,
  now?: Date,
): Authentication {
  const mchId = fields['mch_id'];
  const appid = fields['appid'];
  if (!mchId || !appid) {
    return reject(result('MALFORMED', 'MISSING_FIELD', 'mch_id and appid are required'));
  }
  const found = v2Merchant(merchants, { mchId, appid, subMchId: fields['sub_mch_id'] });
  if (!found.ok) return found;
  const merchant = found.merchant;
  const received = fields['sign'];
  if (!received) {
    return reject(result('REJECTED', 'MISSING_SIGNATURE', 'the notification has no sign field'));
  }
  const declared = fields['sign_type'];
  const signType = declared === undefined || declared === '' ? 'MD5' : declared;
  if (!isSignType(signType)) {
    return reject(result('REJECTED', 'UNKNOWN_SIGN_TYPE', 'sign_type must be MD5 or HMAC-SHA256'));
  }
  if (!merchant.signTypes.includes(signType)) {
    return reject(
      result('REJECTED', 'SIGN_TYPE_NOT_ALLOWED', `sign_type ${signType} is not allowed for mch_id ${mchId}`),
    );
  }
  // Every key is tried, so the time taken does not say which one matched.
  const matches = v2KeysAt(merchant, now).map((key) => signaturesEqual(sign(fields, key, signType), received));
  if (!matches.includes(true)) {
    return reject(
      result(
        'REJECTED',
        'INVALID_SIGNATURE',
        'the signature does not match; check the API key configured for this merchant',
      ),
    );
  }
  return { ok: true, merchant };
}

function reject(r: NotifyResult): Authentication {
  return { ok: false, result: r };
}
