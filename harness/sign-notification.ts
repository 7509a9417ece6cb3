import { signV2, type V2SignType } from './v2-signature';

/** Fields signed the way WeChat signs a v2 notification (MD5 unless told), with `sign` added. */
export function signNotification(
  fields: Record<string, string>,
  key: string,
  signType: V2SignType = 'MD5',
): Record<string, string> {
  return signV2(fields, key, signType);
}

/** The XML WeChat sends: every value in CDATA. */
export function toNotifyXml(fields: Record<string, string>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('')}</xml>`;
}

export const DEMO = Object.freeze({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  key: '192006250b4c09247ec02edce69f6a2d',
});

/** A second merchant that allows only HMAC-SHA256, for the sign_type rules. */
export const HMAC_ONLY = Object.freeze({
  mchId: '10000200',
  appid: 'wx0000000000000200',
  key: 'Z9x8c7v6b5n4m3a2s1d0f9g8h7j6k5l4',
});

export const TEST_MERCHANTS_JSON = JSON.stringify([
  { mch_id: DEMO.mchId, appids: [DEMO.appid], api_key: DEMO.key, sign_types: ['MD5', 'HMAC-SHA256'] },
  { mch_id: HMAC_ONLY.mchId, appids: [HMAC_ONLY.appid], api_key: HMAC_ONLY.key, sign_types: ['HMAC-SHA256'] },
]);

let sequence = 0;

/** A unique out_trade_no per call, readable in failures. */
export function newTradeNo(label = 'T'): string {
  sequence += 1;
  return `${label}${process.pid}x${Date.now().toString(36)}x${sequence}`.slice(0, 32);
}

/** The fields of a successful payment notification (unsigned), as WeChat documents them. */
export function paidFields(outTradeNo: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    appid: DEMO.appid,
    attach: '支付测试 & <测试>',
    bank_type: 'CMC',
    cash_fee: '100',
    fee_type: 'CNY',
    is_subscribe: 'Y',
    mch_id: DEMO.mchId,
    nonce_str: `n${outTradeNo}`.slice(0, 32),
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    out_trade_no: outTradeNo,
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: '20261127120000',
    total_fee: '100',
    trade_type: 'JSAPI',
    transaction_id: `4200${outTradeNo}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
    ...overrides,
  };
}
