import type { AttemptRecord, DeliveryResult } from './sender';

interface KindSummary {
  notifications: number;
  /** Sender-level deliveries (a duplicate from 3 senders is 3). */
  deliveries: number;
  delivered: number;
  givenUp: number;
  attempts: number;
}

export interface Summary {
  readonly notifications: number;
  readonly deliveries: number;
  /** Deliveries acknowledged (HTTP 2xx, return_code SUCCESS, within the reply timeout). */
  readonly delivered: number;
  /** Deliveries that used up their schedule (or attempt cap) without an acknowledgement. */
  readonly givenUp: number;
  readonly attempts: number;
  readonly byKind: Readonly<Record<string, KindSummary>>;
  /** Ids of valid notifications some sender gave up on: a payment WeChat would report as not confirmed. */
  readonly validNotAcknowledged: readonly string[];
  /** Ids of invalid notifications that got an acknowledgement: the service accepted what it must refuse. */
  readonly invalidAcknowledged: readonly string[];
  readonly maxAttemptsToDeliver: number;
  /** Longest time from a valid delivery's first attempt to its acknowledgement. */
  readonly maxTimeToDeliverMs: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /** Replies by HTTP status, and failures by transport error code. */
  readonly replies: Readonly<Record<string, number>>;
}

export interface SummaryInput {
  readonly notifications: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly valid: boolean }>;
  readonly deliveries: readonly DeliveryResult[];
  readonly attempts: readonly AttemptRecord[];
}

/** What a run came to, from its notifications and its log. */
export function summarize(input: SummaryInput): Summary {
  const byKind: Record<string, KindSummary> = {};
  const kindOf = new Map(input.notifications.map((n) => [n.id, n]));
  const slot = (kind: string): KindSummary =>
    (byKind[kind] ??= { notifications: 0, deliveries: 0, delivered: 0, givenUp: 0, attempts: 0 });
  for (const n of input.notifications) slot(n.kind).notifications += 1;
  const validNotAcknowledged = new Set<string>();
  let maxAttemptsToDeliver = 0;
  let maxTimeToDeliverMs = 0;
  for (const d of input.deliveries) {
    const s = slot(d.kind);
    s.deliveries += 1;
    s.attempts += d.attempts;
    if (d.delivered) {
      s.delivered += 1;
      if (kindOf.get(d.id)?.valid) {
        maxAttemptsToDeliver = Math.max(maxAttemptsToDeliver, d.attempts);
        maxTimeToDeliverMs = Math.max(maxTimeToDeliverMs, d.elapsedMs);
      }
    } else {
      s.givenUp += 1;
      if (kindOf.get(d.id)?.valid) validNotAcknowledged.add(d.id);
    }
  }
  // A valid notification none of whose deliveries finished is not acknowledged either.
  const finished = new Set(input.deliveries.map((d) => d.id));
  for (const n of input.notifications) if (n.valid && !finished.has(n.id)) validNotAcknowledged.add(n.id);
  const invalidAcknowledged = new Set(
    input.attempts.filter((a) => a.acknowledged && kindOf.get(a.id)?.valid === false).map((a) => a.id),
  );
  const replies: Record<string, number> = {};
  for (const a of input.attempts) {
    const key = a.status !== null ? `HTTP ${a.status}` : (a.error ?? 'ERROR');
    replies[key] = (replies[key] ?? 0) + 1;
  }
  const latencies = input.attempts.map((a) => a.latencyMs).sort((x, y) => x - y);
  return {
    notifications: input.notifications.length,
    deliveries: input.deliveries.length,
    delivered: input.deliveries.filter((d) => d.delivered).length,
    givenUp: input.deliveries.filter((d) => !d.delivered).length,
    attempts: input.attempts.length,
    byKind,
    validNotAcknowledged: [...validNotAcknowledged],
    invalidAcknowledged: [...invalidAcknowledged],
    maxAttemptsToDeliver,
    maxTimeToDeliverMs,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? 0,
    },
    replies,
  };
}

/** The value at quantile q of an ascending list (nearest rank); 0 for an empty list. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/** The summary as a few lines for a terminal. */
export function formatSummary(s: Summary): string {
  const ms = (n: number): string => `${Math.round(n)} ms`;
  const lines = [
    `notifications ${s.notifications}, deliveries ${s.deliveries}: delivered ${s.delivered}, given up ${s.givenUp}, attempts ${s.attempts}`,
    `valid not acknowledged ${s.validNotAcknowledged.length}, invalid acknowledged ${s.invalidAcknowledged.length}`,
    `attempt latency p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, p99 ${ms(s.latencyMs.p99)}, max ${ms(s.latencyMs.max)}; ` +
      `valid deliveries took at most ${s.maxAttemptsToDeliver} attempt(s), ${ms(s.maxTimeToDeliverMs)}`,
    `replies: ${
      Object.entries(s.replies)
        .sort()
        .map(([k, v]) => `${k} x${v}`)
        .join(', ') || '(none)'
    }`,
    'by kind:',
    ...Object.entries(s.byKind).map(
      ([kind, k]) =>
        `  ${kind.padEnd(21)} notifications ${String(k.notifications).padStart(6)}  deliveries ${String(k.deliveries).padStart(6)}  ` +
        `delivered ${String(k.delivered).padStart(6)}  given up ${String(k.givenUp).padStart(6)}  attempts ${String(k.attempts).padStart(6)}`,
    ),
  ];
  return lines.join('\n');
}
