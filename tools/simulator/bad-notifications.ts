import {
  buildNotification,
  paymentFields,
  toNotifyXml,
  type BuiltNotification,
  type PaymentSpec,
} from './notification-builder';
import type { Random } from './random';
import { signV2 } from '../../harness/v2-signature';

// Notifications a notify URL must never acknowledge, and must never let change an order:
// - forged: signed with a key that is not the merchant's (an attacker's, or a stale one);
// - wrong-amount: correctly signed, but total_fee differs from the registered order's;
// - unknown-order: correctly signed, for an out_trade_no that was never registered;
// - malformed: not a well-formed notification at all (see MALFORMED_VARIANTS).

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 32-character API key that is not `notThis`. */
export function randomApiKey(random: Random, notThis = ''): string {
  for (;;) {
    const key = Array.from({ length: 32 }, () => random.pick([...KEY_ALPHABET])).join('');
    if (key !== notThis) return key;
  }
}

/** The notification of `spec`, signed with another key. */
export function forgedNotification(spec: PaymentSpec, random: Random): BuiltNotification {
  const key = randomApiKey(random, spec.merchant.apiKey);
  return buildNotification({ ...spec, merchant: { ...spec.merchant, apiKey: key } });
}

/** Correctly signed, but claiming `orderFee` plus a non-zero difference (never below 1 fen). */
export function wrongAmountNotification(spec: PaymentSpec, orderFee: number, random: Random): BuiltNotification {
  const delta = random.chance(0.5) && orderFee > 1 ? -random.int(1, orderFee - 1) : random.int(1, 10_000);
  return buildNotification({ ...spec, totalFee: orderFee + delta, coupons: [] });
}

export interface MalformedVariant {
  readonly name: string;
  /** The body to send for the notification of `spec`. */
  readonly body: (spec: PaymentSpec) => string;
}

const signed = (spec: PaymentSpec, change: (fields: Record<string, string>) => void): Record<string, string> => {
  const fields = paymentFields(spec);
  change(fields);
  return signV2(fields, spec.merchant.apiKey, spec.signType);
};

/** Bodies that are not a valid notification; each must get a FAIL reply and change nothing. */
export const MALFORMED_VARIANTS: readonly MalformedVariant[] = Object.freeze([
  { name: 'not-xml', body: (s) => `out_trade_no=${s.outTradeNo}&total_fee=${s.totalFee}` },
  {
    name: 'truncated',
    body: (s) => {
      const xml = buildNotification(s).xml;
      return xml.slice(0, Math.floor(xml.length / 2));
    },
  },
  { name: 'missing-sign', body: (s) => toNotifyXml(paymentFields(s)) },
  {
    name: 'total-fee-decimal',
    body: (s) =>
      toNotifyXml(
        signed(s, (f) => {
          f['total_fee'] = `${s.totalFee}.00`;
        }),
      ),
  },
  {
    name: 'total-fee-leading-zero',
    body: (s) =>
      toNotifyXml(
        signed(s, (f) => {
          f['total_fee'] = `0${s.totalFee}`;
        }),
      ),
  },
  {
    name: 'total-fee-negative',
    body: (s) =>
      toNotifyXml(
        signed(s, (f) => {
          f['total_fee'] = `-${s.totalFee}`;
        }),
      ),
  },
  {
    name: 'missing-transaction-id',
    body: (s) =>
      toNotifyXml(
        signed(s, (f) => {
          delete f['transaction_id'];
        }),
      ),
  },
  {
    name: 'bad-time-end',
    body: (s) =>
      toNotifyXml(
        signed(s, (f) => {
          f['time_end'] = '20260231250000';
        }),
      ),
  },
  {
    name: 'doctype-entity',
    body: (s) =>
      `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>${buildNotification(s).xml.replace('<attach>', '<attach>&x;')}`,
  },
  { name: 'attribute', body: (s) => buildNotification(s).xml.replace('<total_fee>', '<total_fee currency="CNY">') },
  {
    name: 'repeated-field',
    body: (s) => buildNotification(s).xml.replace('</xml>', `<total_fee>${s.totalFee}</total_fee></xml>`),
  },
  { name: 'nested', body: (s) => buildNotification(s).xml.replace('<xml>', '<xml><detail><x>1</x></detail>') },
  { name: 'latin1-declared', body: (s) => `<?xml version="1.0" encoding="ISO-8859-1"?>${buildNotification(s).xml}` },
  { name: 'empty', body: () => '' },
]);

export function malformedBody(spec: PaymentSpec, variant: MalformedVariant): string {
  return variant.body(spec);
}
