import type { Merchant, MerchantDirectory } from './merchant';
import { result, type NotifyResult } from './outcome';

/**
 * The merchant a v2 notification (a payment, or a refund's envelope) says it is for: configured
 * with this appid, and from a service provider, serving the sub_mch_id it names. Pure.
 *
 * v2Merchant(directory, { mchId: '10000100', appid: 'wxd930ea5d5a258f4f' }) => { ok: true, merchant: { mchId: '10000100', ... } }
 */
export function v2Merchant(
  merchants: MerchantDirectory,
  named: { readonly mchId: string; readonly appid: string; readonly subMchId: string | undefined },
): { readonly ok: true; readonly merchant: Merchant } | { readonly ok: false; readonly result: NotifyResult } {
  const { mchId, appid, subMchId } = named;
  const merchant = merchants.get(mchId);
  if (!merchant || !merchant.appids.includes(appid)) {
    return {
      ok: false,
      result: result(
        'REJECTED',
        'UNKNOWN_MERCHANT',
        `mch_id ${mchId} with appid ${appid} is not configured here; add the merchant to the configuration`,
      ),
    };
  }
  if (subMchId && !merchant.subMchIds?.includes(subMchId)) {
    return {
      ok: false,
      result: result(
        'REJECTED',
        'UNKNOWN_SUB_MERCHANT',
        `sub_mch_id ${subMchId} is not configured for service provider ${mchId}; add it to the provider's sub_mch_ids`,
      ),
    };
  }
  return { ok: true, merchant };
}
