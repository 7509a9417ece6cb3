import { OUT_TRADE_NO as OUT_TRADE_NO_PATTERN } from '../payment-notice';
import type { StringRule } from './json-fields';

/** Field shapes shared by APIv3 payloads, from WeChat's documented lengths and alphabets. */

export const APPID: StringRule = { pattern: /^[A-Za-z0-9_-]{1,32}$/, describe: '1 to 32 letters, digits, _ or -' };
export const MCHID: StringRule = { pattern: /^[A-Za-z0-9_-]{1,32}$/, describe: '1 to 32 letters, digits, _ or -' };
// The same rule as v2: WeChat's out_trade_no did not change between API versions.
export const OUT_TRADE_NO: StringRule = {
  pattern: OUT_TRADE_NO_PATTERN,
  describe: '1 to 32 of letters, digits and _-|*@',
};
export const OUT_REFUND_NO: StringRule = {
  pattern: /^[A-Za-z0-9_\-|*@]{1,64}$/,
  describe: '1 to 64 of letters, digits and _-|*@',
};
export const WECHAT_ID: StringRule = { pattern: /^[A-Za-z0-9_-]{1,32}$/, describe: '1 to 32 letters, digits, _ or -' };
export const CURRENCY: StringRule = { pattern: /^[A-Z]{3}$/, describe: 'a three-letter currency code such as CNY' };
