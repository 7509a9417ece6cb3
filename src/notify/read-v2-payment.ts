import { authenticate } from './authenticate';
import type { Merchant, MerchantDirectory } from './merchant';
import { invalidFieldName } from './field-names';
import { result, type NotifyResult } from './outcome';
import { parsePaymentNotice, type PaymentNotice } from './payment-notice';
import { recutSuspicion, type RecutSuspicion } from './recut-suspicion';

export type V2PaymentRead =
  | {
      readonly ok: true;
      readonly merchant: Merchant;
      readonly notice: PaymentNotice;
      /** Set when the fields can be cut two ways: the payment must be confirmed before it moves money. */
      readonly suspicion: RecutSuspicion | undefined;
    }
  | { readonly ok: false; readonly result: NotifyResult };

/**
 * The v2 payment adapter: proves the notification (authenticate), reads its fields
 * (parsePaymentNotice) and says whether its signed text is ambiguous (recutSuspicion). Pure.
 */
export function readV2Payment(
  fields: Readonly<Record<string, string>>,
  merchants: MerchantDirectory,
  now: Date,
): V2PaymentRead {
  const badName = invalidFieldName(fields);
  if (badName !== undefined)
    return {
      ok: false,
      result: result(
        'MALFORMED',
        'INVALID_FIELD',
        `field name ${JSON.stringify(badName)} is not letters, digits and underscores`,
      ),
    };
  const auth = authenticate(fields, merchants, now);
  if (!auth.ok) return auth;
  const parsed = parsePaymentNotice(fields);
  if (!parsed.ok) return parsed;
  return { ok: true, merchant: auth.merchant, notice: parsed.notice, suspicion: recutSuspicion(fields) };
}
