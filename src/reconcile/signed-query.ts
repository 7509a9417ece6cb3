import type { Merchant } from '../notify/merchant';
import { sign, type SignType } from '../notify/sign';
import { toRequestXml } from './request-xml';

/**
 * Whom a v2 query is about: the merchant the order (or refund) belongs to, which is a
 * sub-merchant for a service provider's order, and the appid it was paid through.
 */
export interface QueryParty {
  readonly mchId: string;
  readonly appid: string;
}

/** A signed v2 query (orderquery, refundquery), and the algorithm its reply must be verified with. */
export interface SignedQuery {
  readonly fields: Readonly<Record<string, string>>;
  readonly signType: SignType;
  readonly xml: string;
}

/**
 * The algorithm comes from configuration, never from guessing: HMAC-SHA256 when the merchant
 * allows it (WeChat's stronger option), otherwise MD5. The request says which in `sign_type`,
 * and WeChat signs its reply with the same one.
 */
export function querySignType(merchant: Merchant): SignType {
  return merchant.signTypes.includes('HMAC-SHA256') ? 'HMAC-SHA256' : 'MD5';
}

/**
 * The body of a v2 query: appid, mch_id, nonce_str (at most 32 characters), the query's own
 * fields, sign_type, and sign over all of them with the merchant's current API key. For a
 * sub-merchant, `merchant` is its service provider: mch_id is the provider's and sub_mch_id the
 * sub-merchant's, as WeChat's service-provider mode documents. A party the merchant does not
 * serve, or a nonce WeChat would refuse, is a programming error and throws.
 *
 * buildSignedQuery({ mchId: '10000100', appid: 'wxd930ea5d5a258f4f' }, demo, 'n1', { out_trade_no: 'o1' }).fields
 *   => { appid, mch_id: '10000100', nonce_str: 'n1', out_trade_no: 'o1', sign_type: 'HMAC-SHA256', sign: '<64 hex>' }
 */
export function buildSignedQuery(
  party: QueryParty,
  merchant: Merchant,
  nonce: string,
  queryFields: Readonly<Record<string, string>>,
): SignedQuery {
  const viaProvider = party.mchId !== merchant.mchId;
  if (viaProvider && !merchant.subMchIds?.includes(party.mchId)) {
    throw new Error(`mch_id ${party.mchId} queried with the key of ${merchant.mchId}, which does not serve it`);
  }
  if (!/^[A-Za-z0-9]{1,32}$/.test(nonce)) throw new Error('nonce_str must be 1 to 32 letters or digits');
  const signType = querySignType(merchant);
  const unsigned: Record<string, string> = {
    appid: party.appid,
    mch_id: merchant.mchId,
    ...(viaProvider ? { sub_mch_id: party.mchId } : {}),
    nonce_str: nonce,
    ...queryFields,
    sign_type: signType,
  };
  const fields = { ...unsigned, sign: sign(unsigned, merchant.apiKey, signType) };
  return { fields, signType, xml: toRequestXml(fields) };
}
