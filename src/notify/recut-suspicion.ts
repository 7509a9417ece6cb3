/**
 * Why a v2 notification can be re-cut, and how we notice it.
 *
 * A v2 signature covers the text `k1=v1&k2=v2&...&key=API_KEY` with the fields sorted by name and
 * nothing escaped. Two different field sets can therefore produce the same text. If a payer can
 * put text into a field WeChat echoes back (merchants pass user remarks in `attach`), e.g.
 *
 *   attach = x&mch_id=M&out_trade_no=vip0001&result_code=SUCCESS&...&total_fee=100000&tr=
 *
 * then the genuine, WeChat-signed notification of a 1-fen order reads
 * `appid=A&attach=x&mch_id=M&out_trade_no=vip0001&...&total_fee=100000&tr=&bank_type=...` and the
 * same text is also: attach=x, the injected fields as real fields, and a made-up field `tr` whose
 * value swallows the genuine tail (`&bank_type=...&out_trade_no=cheap&...`). The signature
 * verifies for both cuts, without anyone knowing the key.
 *
 * Every such re-cut leaves a value that contains `&NAME=` for a field WeChat documents: the
 * injected text does in the genuine cut, and the swallowing field does in the forged cut (the
 * genuine tail always holds documented fields such as out_trade_no and total_fee, which sort after
 * any field a payer could fill). A genuine value rarely does: `note=gift&qty=2` names no documented
 * field and stays unsuspicious, and an unknown field name alone is not suspicious either (WeChat
 * adds fields over time). A suspicious notification is not refused: its payment is confirmed with
 * a signed orderquery before anything is paid (NotifyService), and answered FAIL while it cannot
 * be.
 */

/** The fields of WeChat's v2 payment-result notification, as documented (service providers' included). */
const DOCUMENTED_FIELDS: ReadonlySet<string> = new Set([
  'return_code',
  'return_msg',
  'appid',
  'mch_id',
  'sub_appid',
  'sub_mch_id',
  'device_info',
  'nonce_str',
  'sign',
  'sign_type',
  'result_code',
  'err_code',
  'err_code_des',
  'openid',
  'is_subscribe',
  'sub_openid',
  'sub_is_subscribe',
  'trade_type',
  'bank_type',
  'total_fee',
  'settlement_total_fee',
  'fee_type',
  'cash_fee',
  'cash_fee_type',
  'coupon_fee',
  'coupon_count',
  'transaction_id',
  'out_trade_no',
  'attach',
  'time_end',
]);
/** coupon_type_$n, coupon_id_$n, coupon_fee_$n. */
const NUMBERED_FIELD = /^coupon_(type|id|fee)_[0-9]+$/;
const EMBEDDED_FIELD = /&([A-Za-z0-9_]+)=/g;

export interface RecutSuspicion {
  /** The field whose value embeds another field. */
  readonly field: string;
  /** The documented field name it embeds. */
  readonly embedded: string;
}

/**
 * The first value that embeds `&NAME=` for a documented field, if any. Pure.
 *
 * recutSuspicion({ attach: 'x&out_trade_no=vip0001&tr=', ... }) => { field: 'attach', embedded: 'out_trade_no' }
 * recutSuspicion({ attach: 'note=gift&qty=2', ... }) => undefined
 */
export function recutSuspicion(fields: Readonly<Record<string, string>>): RecutSuspicion | undefined {
  for (const [field, value] of Object.entries(fields)) {
    // sign is not part of the signed text, so nothing can be cut into or out of it.
    if (field === 'sign' || !value.includes('&')) continue;
    for (const match of value.matchAll(EMBEDDED_FIELD)) {
      const name = match[1] ?? '';
      if (DOCUMENTED_FIELDS.has(name) || NUMBERED_FIELD.test(name)) return { field, embedded: name };
    }
  }
  return undefined;
}
