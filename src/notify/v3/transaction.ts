import {
  amountField,
  objectField,
  optionalObjectField,
  optionalStringField,
  readJson,
  stringField,
  timeField,
  type V3Parse,
} from './json-fields';
import { APPID, CURRENCY, MCHID, OUT_TRADE_NO, WECHAT_ID } from './v3-rules';

/**
 * The decrypted resource of a TRANSACTION.SUCCESS notification, in the direct-merchant shape
 * (appid/mchid) or the service-provider shape (sp_appid/sp_mchid/sub_mchid). Amounts are
 * integers in fen.
 */
export interface V3Transaction {
  /** appid, or sp_appid for a service provider. */
  readonly appid: string;
  /** mchid, or sp_mchid for a service provider: whose keys signed it. */
  readonly mchid: string;
  /** The sub-merchant the order belongs to (service-provider shape only). */
  readonly subMchid?: string;
  readonly outTradeNo: string;
  readonly transactionId: string;
  /** Only SUCCESS is notified; other states are found by querying the order. */
  readonly tradeState: 'SUCCESS';
  /** JSAPI, NATIVE, APP, MICROPAY, MWEB or FACEPAY, when sent. */
  readonly tradeType?: string;
  readonly payerOpenid?: string;
  readonly successTime: Date;
  readonly amount: {
    /** The order total. */
    readonly total: number;
    /** What the payer paid after discounts. */
    readonly payerTotal: number;
    readonly currency: string;
    readonly payerCurrency: string;
  };
}

const TRADE_STATE = {
  pattern: /^SUCCESS$/,
  describe: 'SUCCESS in a TRANSACTION.SUCCESS notification (other states are found by querying the order)',
};
const TRADE_TYPE = { pattern: /^[A-Z_]{1,16}$/, describe: 'a trade type such as JSAPI' };

/**
 * Reads a decrypted TRANSACTION.SUCCESS resource.
 *
 * parseV3Transaction('{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"1217752501201407033233368018",
 *   "transaction_id":"1217752501201407033233368018","trade_state":"SUCCESS","success_time":"2018-06-08T10:34:56+08:00",
 *   "amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}')
 *   => { ok: true, value: { appid: 'wxd678efh567hg6787', ..., successTime: 2018-06-08T02:34:56.000Z,
 *        amount: { total: 100, payerTotal: 100, currency: 'CNY', payerCurrency: 'CNY' } } }
 */
export function parseV3Transaction(plaintextJson: string): V3Parse<V3Transaction> {
  return readJson(plaintextJson, 'the transaction resource', (root) => {
    stringField(root, 'trade_state', TRADE_STATE);
    const a = objectField(root, 'amount');
    const tradeType = optionalStringField(root, 'trade_type', TRADE_TYPE);
    const payer = optionalObjectField(root, 'payer');
    const payerOpenid = payer && optionalStringField(payer, 'openid', undefined, 'payer.');
    const partner = optionalStringField(root, 'sp_mchid', MCHID);
    return {
      appid: stringField(root, partner === undefined ? 'appid' : 'sp_appid', APPID),
      mchid: partner ?? stringField(root, 'mchid', MCHID),
      ...(partner !== undefined ? { subMchid: stringField(root, 'sub_mchid', MCHID) } : {}),
      outTradeNo: stringField(root, 'out_trade_no', OUT_TRADE_NO),
      transactionId: stringField(root, 'transaction_id', WECHAT_ID),
      tradeState: 'SUCCESS' as const,
      ...(tradeType !== undefined ? { tradeType } : {}),
      ...(payerOpenid !== undefined ? { payerOpenid } : {}),
      successTime: timeField(root, 'success_time'),
      amount: {
        total: amountField(a, 'total', 'amount.'),
        payerTotal: amountField(a, 'payer_total', 'amount.'),
        currency: stringField(a, 'currency', CURRENCY, 'amount.'),
        payerCurrency: stringField(a, 'payer_currency', CURRENCY, 'amount.'),
      },
    };
  });
}
