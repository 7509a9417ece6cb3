import { v2KeysAt, type Merchant } from '../notify/merchant';
import { result, type NotifyResult } from '../notify/outcome';
import { isSignType, sign, signaturesEqual, type SignType } from '../notify/sign';
import type { OrderQueryTarget } from './orderquery-request';
import type { QueryParty } from './signed-query';

export type ReplyAuthentication = { readonly ok: true } | { readonly ok: false; readonly result: NotifyResult };

/**
 * What the reply to one request must prove. `target` is what was asked about: an order for
 * orderquery (the default), a refund for refundquery; only its mch_id and appid matter here.
 */
export interface ExpectedReply<Target extends QueryParty = OrderQueryTarget> {
  readonly target: Target;
  /** The merchant whose key signed the request (a sub-merchant's service provider for its orders). */
  readonly merchant: Merchant;
  /** The sign_type the request named. */
  readonly signType: SignType;
  /** For the previous key's rotation overlap, as for notifications. */
  readonly now: Date;
}

/**
 * Proves an orderquery (or refundquery) reply came from WeChat, by the rules
 * src/notify/authenticate.ts applies to a notification: the same signature function and
 * constant-time comparison, the same keys (the current one, and the previous one while its
 * rotation overlap lasts), the merchant, appid and sub-merchant must be ours (here: exactly the
 * ones queried), the algorithm must be one the merchant allows, and failures carry the same codes
 * (UNKNOWN_MERCHANT, UNKNOWN_SUB_MERCHANT, MISSING_SIGNATURE, UNKNOWN_SIGN_TYPE,
 * SIGN_TYPE_NOT_ALLOWED, INVALID_SIGNATURE).
 *
 * One difference, by WeChat's protocol: the reply is signed with the algorithm the request named
 * in `sign_type`, and need not repeat it. authenticate() reads an absent sign_type as MD5, which
 * is right for a notification but would reject every HMAC-SHA256 reply; so the expected
 * algorithm is the one we sent, and a reply that declares a different one is refused.
 * Pure: nothing else is read.
 */
export function authenticateQueryReply(
  fields: Readonly<Record<string, string>>,
  expected: ExpectedReply<QueryParty>,
): ReplyAuthentication {
  const { target, merchant, signType } = expected;
  const mchId = fields['mch_id'];
  const appid = fields['appid'];
  if (!mchId || !appid) return reject(result('MALFORMED', 'MISSING_FIELD', 'the reply has no mch_id or appid'));
  if (mchId !== merchant.mchId || appid !== target.appid || !merchant.appids.includes(appid)) {
    return reject(
      result(
        'REJECTED',
        'UNKNOWN_MERCHANT',
        `the reply is for mch_id ${mchId} with appid ${appid}, not the ${merchant.mchId} with ${target.appid} that was queried`,
      ),
    );
  }
  const subMchId = fields['sub_mch_id'] ?? '';
  const expectedSub = target.mchId === merchant.mchId ? '' : target.mchId;
  if (subMchId !== expectedSub) {
    return reject(
      result(
        'REJECTED',
        'UNKNOWN_SUB_MERCHANT',
        `the reply names sub_mch_id ${subMchId || '(none)'}, but the query was for ${expectedSub || 'no sub-merchant'}`,
      ),
    );
  }
  const received = fields['sign'];
  if (!received) return reject(result('REJECTED', 'MISSING_SIGNATURE', 'the reply has no sign field'));
  const declared = fields['sign_type'];
  if (declared !== undefined && declared !== '') {
    if (!isSignType(declared))
      return reject(result('REJECTED', 'UNKNOWN_SIGN_TYPE', 'sign_type must be MD5 or HMAC-SHA256'));
    if (declared !== signType) {
      return reject(
        result(
          'REJECTED',
          'SIGN_TYPE_NOT_ALLOWED',
          `the reply is signed with ${declared}, but the query asked for ${signType}`,
        ),
      );
    }
  }
  if (!merchant.signTypes.includes(signType)) {
    return reject(
      result('REJECTED', 'SIGN_TYPE_NOT_ALLOWED', `sign_type ${signType} is not allowed for mch_id ${mchId}`),
    );
  }
  // Every key is tried, so the time taken does not say which one matched.
  const matches = v2KeysAt(merchant, expected.now).map((key) => signaturesEqual(sign(fields, key, signType), received));
  if (!matches.includes(true)) {
    return reject(
      result(
        'REJECTED',
        'INVALID_SIGNATURE',
        'the reply signature does not match; check the API key configured for this merchant, and who answers at WECHATPAY_API_BASE',
      ),
    );
  }
  return { ok: true };
}

function reject(r: NotifyResult): ReplyAuthentication {
  return { ok: false, result: r };
}
