// The two merchants the money model pays and refunds: both speak v2 (MD5 and HMAC-SHA256) and
// APIv3, and each has two app ids, so a notification can name an app id the merchant owns but
// the order does not (APPID_MISMATCH rather than a rejection).

import { newV3Key, type V3TestKey } from '../../harness/v3-notification';

export interface ModelMerchant {
  readonly mchId: string;
  /** appids[0] is the one orders are created with; appids[1] is the merchant's other app. */
  readonly appids: readonly [string, string];
  readonly apiKey: string;
  readonly apiV3Key: string;
  /** The WeChat Pay public key that signs its APIv3 notifications. */
  readonly v3Key: V3TestKey;
  /** Same serial, another private key: what a forger who knows the serial can sign with. */
  readonly forgedV3Key: V3TestKey;
}

function merchant(mchId: string, apiKey: string, apiV3Key: string): ModelMerchant {
  const id = `PUB_KEY_ID_01142321349124100000000${mchId.slice(-5)}`;
  return {
    mchId,
    appids: [`wxmodel${mchId}a`, `wxmodel${mchId}b`],
    apiKey,
    apiV3Key,
    v3Key: newV3Key(id),
    forgedV3Key: newV3Key(id),
  };
}

/** Generated once per process (RSA key generation takes a moment). */
export const MODEL_MERCHANTS: readonly [ModelMerchant, ModelMerchant] = [
  merchant('1900000601', 'Mdl601aaaabbbbccccddddeeeeffff00', 'Mdl601V3key0123456789abcdefghijk'),
  merchant('1900000602', 'Mdl602aaaabbbbccccddddeeeeffff00', 'Mdl602V3key0123456789abcdefghijk'),
];

/** MERCHANTS_JSON for startTestCore. */
export const MODEL_MERCHANTS_JSON = JSON.stringify(
  MODEL_MERCHANTS.map((m) => ({
    mch_id: m.mchId,
    appids: m.appids,
    api_key: m.apiKey,
    sign_types: ['MD5', 'HMAC-SHA256'],
    apiv3_key: m.apiV3Key,
    wechatpay_public_keys: [{ id: m.v3Key.id, pem: m.v3Key.publicPem }],
  })),
);

/** A v2 key no merchant has: what a forged v2 notification is signed with. */
export const FORGER_V2_KEY = 'Forger00aaaabbbbccccddddeeeeffff';
