import { forgedNotification, MALFORMED_VARIANTS, malformedBody, wrongAmountNotification } from './bad-notifications';
import { senderOffsetsMs } from './duplicate-sender';
import { buildNotification, type PaymentSpec, type SimMerchant } from './notification-builder';
import { seededRandom, type Random } from './random';
import type { Deliverable } from './sender';
import type { V2SignType } from '../../harness/v2-signature';

/**
 * What a simulated run sends, by kind:
 * - unique: one valid notification for a registered order, from one sender;
 * - duplicate: the same valid notification from two senders seconds apart;
 * - concurrent-duplicate: the same valid notification from 3 to 5 senders milliseconds apart;
 * - forged / wrong-amount / unknown-order / malformed: see bad-notifications.ts.
 */
export type NotificationKind =
  'unique' | 'duplicate' | 'concurrent-duplicate' | 'forged' | 'wrong-amount' | 'unknown-order' | 'malformed';

export const NOTIFICATION_KINDS: readonly NotificationKind[] = Object.freeze([
  'unique',
  'duplicate',
  'concurrent-duplicate',
  'forged',
  'wrong-amount',
  'unknown-order',
  'malformed',
]);

/** Relative weights per kind; they need not add up to 100. */
export type Mix = Readonly<Record<NotificationKind, number>>;

export const DEFAULT_MIX: Mix = Object.freeze({
  unique: 60,
  duplicate: 10,
  'concurrent-duplicate': 10,
  forged: 8,
  'wrong-amount': 6,
  'unknown-order': 3,
  malformed: 3,
});

/** Valid notifications must be acknowledged and pay their order; the others never. */
export function isValidKind(kind: NotificationKind): boolean {
  return kind === 'unique' || kind === 'duplicate' || kind === 'concurrent-duplicate';
}

function isKind(name: string): name is NotificationKind {
  return (NOTIFICATION_KINDS as readonly string[]).includes(name);
}

/** "unique=70,forged=10,malformed=5": kinds not named get weight 0. */
export function parseMix(text: string): Mix {
  const mix: Record<NotificationKind, number> = Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, 0])) as Record<
    NotificationKind,
    number
  >;
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(part);
    if (!m || !isKind(m[1] ?? '')) {
      throw new RangeError(
        `mix entry ${JSON.stringify(part)} must be KIND=WEIGHT with KIND one of ${NOTIFICATION_KINDS.join(', ')}`,
      );
    }
    mix[m[1] as NotificationKind] = Number(m[2]);
  }
  if (NOTIFICATION_KINDS.every((k) => mix[k] === 0)) throw new RangeError('the mix gives every kind weight 0');
  return mix;
}

/**
 * Splits `count` notifications over the kinds in proportion to the weights (largest remainder:
 * the counts add up to exactly `count`, each within 1 of its exact share).
 */
export function kindCounts(count: number, mix: Mix): Record<NotificationKind, number> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, not ${count}`);
  const total = NOTIFICATION_KINDS.reduce((s, k) => s + Math.max(0, mix[k]), 0);
  if (total <= 0) throw new RangeError('the mix gives every kind weight 0');
  const exact = NOTIFICATION_KINDS.map((k) => ({ k, share: (count * Math.max(0, mix[k])) / total }));
  const counts = Object.fromEntries(exact.map(({ k, share }) => [k, Math.floor(share)])) as Record<
    NotificationKind,
    number
  >;
  let left = count - NOTIFICATION_KINDS.reduce((s, k) => s + counts[k], 0);
  const byRemainder = [...exact].sort((a, b) => b.share - Math.floor(b.share) - (a.share - Math.floor(a.share)));
  for (const { k } of byRemainder) {
    if (left === 0) break;
    counts[k] += 1;
    left -= 1;
  }
  return counts;
}

/** An order to register (CreateOrder) before the notifications are sent. */
export interface OrderToCreate {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  readonly totalFee: number;
  readonly feeType: string;
  /** paid: a valid notification pays it; bait: only forged or malformed ones name it; wrong-amount: only a wrong amount names it. */
  readonly role: 'paid' | 'bait' | 'wrong-amount';
}

export interface PlannedNotification extends Deliverable {
  readonly kind: NotificationKind;
  readonly valid: boolean;
  readonly outTradeNo: string;
  /** The transaction_id it carries (null for some malformed bodies). */
  readonly transactionId: string | null;
  /** total_fee it claims, and the registered order's amount (null: no order). */
  readonly totalFee: number;
  readonly orderFee: number | null;
  readonly signType: V2SignType;
  /** When its first sender starts, from the start of the run. */
  readonly startAtMs: number;
  /** One start offset per sender, from startAtMs; length 1 for a single sender. */
  readonly offsetsMs: readonly number[];
  /** For malformed: which variant. */
  readonly variant?: string;
}

export interface Plan {
  readonly runId: string;
  readonly merchant: SimMerchant;
  readonly orders: readonly OrderToCreate[];
  readonly notifications: readonly PlannedNotification[];
}

export interface PlanOptions {
  readonly count: number;
  readonly mix: Mix;
  readonly seed: number;
  readonly merchant: SimMerchant;
  /** Prefix of every out_trade_no and transaction_id, so runs never collide (<= 12 characters). */
  readonly runId: string;
  readonly signType: V2SignType | 'mixed';
  /** First sends are spread evenly over this window (0: all at once). */
  readonly spreadMs: number;
  /** Gap between the two senders of a duplicate (default 500 to 3000 ms). */
  readonly duplicateGapMs?: readonly [number, number];
  /** Gap between successive senders of a concurrent duplicate (default 0 to 20 ms). */
  readonly concurrentGapMs?: readonly [number, number];
  /** Senders of a concurrent duplicate (default 3 to 5). */
  readonly concurrentSenders?: readonly [number, number];
  readonly now?: Date;
}

/** Unicode that real attach values carry: CJK, emoji (astral), right-to-left, combining marks, XML specials. */
const ATTACH_SAMPLES: readonly string[] = Object.freeze([
  '支付测试',
  '订单备注：早餐 🍜🥟',
  'مرحبا بالعالم',
  'e\u0301te\u0301 cafe\u0301',
  '<a href="x">&amp;</a>',
  '𠀋𡈽𡌛 (CJK Ext-B)',
  'tab\tand\nnewline',
  ' padded ',
]);

/** Fields a newer WeChat might add: signed over like the rest, otherwise ignored. */
const EXTRA_FIELD_SAMPLES: ReadonlyArray<Readonly<Record<string, string>>> = [
  { device_info: 'WEB', sub_mch_id: '' },
  { promotion_detail: '[{"promotion_id":"109519","scope":"SINGLE","type":"DISCOUNT","amount":5}]' },
  { future_field: '新字段', settlement_total_fee: '' },
];

/** Builds the orders and notifications of a run, deterministically from the seed. */
export function planNotifications(options: PlanOptions): Plan {
  if (!/^[A-Za-z0-9]{1,12}$/.test(options.runId))
    throw new RangeError(`runId must be 1 to 12 letters or digits, not ${JSON.stringify(options.runId)}`);
  const random = seededRandom(options.seed);
  const counts = kindCounts(options.count, options.mix);
  const kinds = shuffle(
    NOTIFICATION_KINDS.flatMap((k) => Array.from({ length: counts[k] }, () => k)),
    random,
  );
  const merchant = options.merchant;
  const timeEnd = options.now ?? new Date();
  const orders: OrderToCreate[] = [];
  const notifications: PlannedNotification[] = [];
  const paidOrders: Array<{ outTradeNo: string; totalFee: number }> = [];
  const [dupMin, dupMax] = options.duplicateGapMs ?? [500, 3_000];
  const [conMin, conMax] = options.concurrentGapMs ?? [0, 20];
  const [sendersMin, sendersMax] = options.concurrentSenders ?? [3, 5];
  const order = (outTradeNo: string, totalFee: number, role: OrderToCreate['role']): void => {
    orders.push({ mchId: merchant.mchId, appid: merchant.appid, outTradeNo, totalFee, feeType: 'CNY', role });
  };

  kinds.forEach((kind, i) => {
    const outTradeNo = `${options.runId}${KIND_LETTER[kind]}${i}`;
    const totalFee = random.int(1, 50_000);
    const signType: V2SignType =
      options.signType === 'mixed' ? random.pick(['MD5', 'HMAC-SHA256'] as const) : options.signType;
    const spec: PaymentSpec = {
      merchant,
      outTradeNo,
      totalFee,
      signType,
      timeEnd,
      transactionId: `4200${options.runId}T${i}`,
      nonceStr: `n${options.runId}${i}${random.int(0, 1e9)}`.slice(0, 32),
      attach: random.chance(0.5) ? random.pick(ATTACH_SAMPLES) : undefined,
      coupons: totalFee > 10 && random.chance(0.2) ? couponsFor(totalFee, random) : undefined,
      extraFields: random.chance(0.2) ? random.pick(EXTRA_FIELD_SAMPLES) : undefined,
    };
    const startAtMs = options.count <= 1 ? 0 : Math.round((i * options.spreadMs) / options.count);
    const base = { id: `${i}`, kind, outTradeNo, signType, startAtMs };
    switch (kind) {
      case 'unique':
      case 'duplicate':
      case 'concurrent-duplicate': {
        order(outTradeNo, totalFee, 'paid');
        paidOrders.push({ outTradeNo, totalFee });
        const offsetsMs =
          kind === 'unique'
            ? [0]
            : kind === 'duplicate'
              ? senderOffsetsMs(2, dupMin, dupMax, random)
              : senderOffsetsMs(random.int(sendersMin, sendersMax), conMin, conMax, random);
        notifications.push({
          ...base,
          valid: true,
          xml: buildNotification(spec).xml,
          transactionId: spec.transactionId,
          totalFee,
          orderFee: totalFee,
          offsetsMs,
        });
        break;
      }
      case 'forged': {
        // Every other forgery names an order that a valid notification pays, racing it.
        const target = i % 2 === 1 ? paidOrders[random.int(0, Math.max(0, paidOrders.length - 1))] : undefined;
        const forgedSpec = target
          ? {
              ...spec,
              outTradeNo: target.outTradeNo,
              totalFee: target.totalFee,
              coupons: [],
              transactionId: `6600${options.runId}F${i}`,
            }
          : { ...spec, transactionId: `6600${options.runId}F${i}` };
        if (!target) order(outTradeNo, totalFee, 'bait');
        notifications.push({
          ...base,
          outTradeNo: forgedSpec.outTradeNo,
          valid: false,
          xml: forgedNotification(forgedSpec, random).xml,
          transactionId: forgedSpec.transactionId,
          totalFee: forgedSpec.totalFee,
          orderFee: forgedSpec.totalFee,
          offsetsMs: [0],
        });
        break;
      }
      case 'wrong-amount': {
        order(outTradeNo, totalFee, 'wrong-amount');
        const built = wrongAmountNotification(spec, totalFee, random);
        notifications.push({
          ...base,
          valid: false,
          xml: built.xml,
          transactionId: spec.transactionId,
          totalFee: Number(built.fields['total_fee']),
          orderFee: totalFee,
          offsetsMs: [0],
        });
        break;
      }
      case 'unknown-order':
        notifications.push({
          ...base,
          valid: false,
          xml: buildNotification(spec).xml,
          transactionId: spec.transactionId,
          totalFee,
          orderFee: null,
          offsetsMs: [0],
        });
        break;
      case 'malformed': {
        order(outTradeNo, totalFee, 'bait');
        const variant = MALFORMED_VARIANTS[i % MALFORMED_VARIANTS.length] ?? MALFORMED_VARIANTS[0];
        if (!variant) throw new Error('no malformed variants');
        notifications.push({
          ...base,
          valid: false,
          xml: malformedBody(spec, variant),
          transactionId: spec.transactionId,
          totalFee,
          orderFee: totalFee,
          offsetsMs: [0],
          variant: variant.name,
        });
        break;
      }
    }
  });
  return { runId: options.runId, merchant, orders, notifications };
}

const KIND_LETTER: Readonly<Record<NotificationKind, string>> = {
  unique: 'U',
  duplicate: 'D',
  'concurrent-duplicate': 'C',
  forged: 'F',
  'wrong-amount': 'W',
  'unknown-order': 'N',
  malformed: 'M',
};

function couponsFor(totalFee: number, random: Random): number[] {
  const n = random.int(1, 2);
  const coupons: number[] = [];
  let left = Math.floor(totalFee / 2);
  for (let i = 0; i < n && left >= 1; i++) {
    const c = random.int(1, left);
    coupons.push(c);
    left -= c;
  }
  return coupons;
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** A run id from the clock: short, sortable, unique enough across runs. */
export function newRunId(now = Date.now()): string {
  return `S${now.toString(36)}${Math.floor(Math.random() * 36 ** 3)
    .toString(36)
    .padStart(3, '0')}`.slice(0, 12);
}
