// Counters read before and after a measured window: Redis commands (INFO commandstats), write
// transactions and WAL bytes (PostgreSQL), the core's own latency histograms and decision codes,
// and the gateway's calls to the core by gRPC status (both /metrics).

import type Redis from 'ioredis';
import type { Client } from 'pg';

export interface CounterSources {
  readonly redis: Redis;
  readonly pg: Client;
  /** The core's Prometheus endpoint, when it runs one. */
  readonly metricsUrl?: string | undefined;
  /** The gateway's Prometheus endpoint, when it runs one. */
  readonly gatewayMetricsUrl?: string | undefined;
}

export interface Counters {
  readonly redis: Record<string, number>;
  /** The next transaction id: its growth counts transactions that wrote something. */
  readonly nextXid: number;
  readonly walLsn: string;
  /** Per histogram family ending in _seconds: sum and count over all label sets. */
  readonly histograms: Record<string, { sum: number; count: number }>;
  /** PostgreSQL background work that competes with the notifications: (auto)vacuum, analyze, checkpoints. */
  readonly maintenance: Readonly<Record<MaintenanceKind, number>>;
  /** The core's HandleNotify histogram: cumulative count per upper bound (seconds). */
  readonly handleBuckets: ReadonlyArray<readonly [number, number]>;
  /** payment_callback_notifications_total summed over merchants, by `outcome/code`. */
  readonly coreCodes: Record<string, number>;
  /** The gateway's HandleNotify calls (payment_callback_gateway_core_call_seconds_count) by grpc_code. */
  readonly gatewayGrpcCodes: Record<string, number>;
}

type MaintenanceKind = 'autovacuum' | 'autoanalyze' | 'checkpoints';

export interface CounterDelta {
  readonly redis: Record<string, number>;
  readonly writeXacts: number;
  readonly walBytes: number;
  readonly histograms: Record<string, { meanMs: number; count: number }>;
  /** Runs that started or ended inside the window, per kind. */
  readonly maintenance?: Readonly<Record<MaintenanceKind, number>>;
  /**
   * The bucket bound (ms) under which 99% of the window's HandleNotify calls finished, inside the
   * core: compared with the end-to-end p99 it tells whether slow requests were slow in the core.
   */
  readonly coreHandleP99AtMostMs?: number;
  /**
   * The core's decisions inside the window by `outcome/code` (RETRY_LATER/LOCK_BUSY,
   * PAID/OK, ...): why a reply was what it was, where the HTTP status only says "retry".
   * Absent when the core had no metrics endpoint (and in results.json files from before).
   */
  readonly coreCodes?: Record<string, number>;
  /** The gateway's calls to the core inside the window by gRPC status (OK, DEADLINE_EXCEEDED, ...). */
  readonly gatewayGrpcCodes?: Record<string, number>;
}

const scrape = (url: string | undefined): Promise<string> =>
  url
    ? fetch(url, { signal: AbortSignal.timeout(3_000) })
        .then((r) => r.text())
        .catch(() => '')
    : Promise.resolve('');

/** Sums a counter's samples by the values of some of its labels, joined with '/'. */
function sumByLabels(metrics: string, sample: string, labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(new RegExp(`^${sample}\\{([^}]*)\\} ([0-9.eE+-]+)$`, 'gm'))) {
    const values = new Map([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    const key = labels.map((l) => values.get(l) ?? '').join('/');
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/** b - a per key, keeping the keys that grew. */
function grown(a: Record<string, number> | undefined, b: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b ?? {})) {
    const d = v - (a?.[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export async function readCounters(src: CounterSources): Promise<Counters> {
  const [info, pgRow, metrics, gatewayMetrics] = await Promise.all([
    src.redis.info('commandstats'),
    src.pg.query<{ xid: string; lsn: string; autovacuum: string; autoanalyze: string; checkpoints: string }>(
      `select pg_snapshot_xmax(pg_current_snapshot())::text as xid, pg_current_wal_lsn()::text as lsn,
        (select coalesce(sum(autovacuum_count), 0) from pg_stat_user_tables)::text as autovacuum,
        (select coalesce(sum(autoanalyze_count), 0) from pg_stat_user_tables)::text as autoanalyze,
        (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)::text as checkpoints`,
    ),
    scrape(src.metricsUrl),
    scrape(src.gatewayMetricsUrl),
  ]);
  const redis: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) redis[m[1] ?? '?'] = Number(m[2]);
  const histograms: Record<string, { sum: number; count: number }> = {};
  for (const m of metrics.matchAll(/^([a-z_:]+_seconds)_(sum|count)(?:\{[^}]*\})? ([0-9.eE+-]+)$/gm)) {
    const name = m[1] ?? '?';
    const h = (histograms[name] ??= { sum: 0, count: 0 });
    if (m[2] === 'sum') h.sum += Number(m[3]);
    else h.count += Number(m[3]);
  }
  const buckets = new Map<number, number>();
  for (const m of metrics.matchAll(
    /^payment_callback_handle_notify_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\} ([0-9.eE+-]+)$/gm,
  )) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  const row = pgRow.rows[0];
  return {
    handleBuckets: [...buckets].sort((x, y) => x[0] - y[0]),
    coreCodes: sumByLabels(metrics, 'payment_callback_notifications_total', ['outcome', 'code']),
    gatewayGrpcCodes: sumByLabels(gatewayMetrics, 'payment_callback_gateway_core_call_seconds_count', ['grpc_code']),
    redis,
    nextXid: Number(row?.xid ?? 0),
    walLsn: row?.lsn ?? '0/0',
    histograms,
    maintenance: {
      autovacuum: Number(row?.autovacuum ?? 0),
      autoanalyze: Number(row?.autoanalyze ?? 0),
      checkpoints: Number(row?.checkpoints ?? 0),
    },
  };
}

function lsnToNumber(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi ?? '0', 16) * 2 ** 32 + parseInt(lo ?? '0', 16);
}

export function counterDelta(a: Counters, b: Counters): CounterDelta {
  const redis: Record<string, number> = {};
  for (const [cmd, calls] of Object.entries(b.redis)) {
    // Our own INFO probe is not the system's work.
    if (cmd === 'info') continue;
    const d = calls - (a.redis[cmd] ?? 0);
    if (d > 0) redis[cmd] = d;
  }
  const histograms: Record<string, { meanMs: number; count: number }> = {};
  for (const [name, h] of Object.entries(b.histograms)) {
    const before = a.histograms[name] ?? { sum: 0, count: 0 };
    const count = h.count - before.count;
    if (count > 0) histograms[name] = { count, meanMs: Math.round(((h.sum - before.sum) / count) * 1e6) / 1e3 };
  }
  const maintenance = {
    autovacuum: b.maintenance.autovacuum - a.maintenance.autovacuum,
    autoanalyze: b.maintenance.autoanalyze - a.maintenance.autoanalyze,
    checkpoints: b.maintenance.checkpoints - a.maintenance.checkpoints,
  };
  return {
    redis,
    writeXacts: b.nextXid - a.nextXid,
    walBytes: lsnToNumber(b.walLsn) - lsnToNumber(a.walLsn),
    histograms,
    maintenance,
    coreHandleP99AtMostMs: bucketQuantile(a.handleBuckets, b.handleBuckets, 0.99),
    // Only when the endpoint answered: an empty scrape is "not measured", not "no decisions".
    ...(Object.keys(b.coreCodes).length > 0 ? { coreCodes: grown(a.coreCodes, b.coreCodes) } : {}),
    ...(Object.keys(b.gatewayGrpcCodes).length > 0
      ? { gatewayGrpcCodes: grown(a.gatewayGrpcCodes, b.gatewayGrpcCodes) }
      : {}),
  };
}

/** The smallest bucket bound (ms) holding `q` of the observations made between a and b. */
function bucketQuantile(a: Counters['handleBuckets'], b: Counters['handleBuckets'], q: number): number | undefined {
  const before = new Map(a);
  const delta = b.map(([le, n]) => [le, n - (before.get(le) ?? 0)] as const);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const hit = delta.find(([, n]) => n >= q * total);
  return hit ? hit[0] * 1000 : undefined;
}
