// Counters read before and after a measured window: Redis commands (INFO commandstats), write
// transactions and WAL bytes (PostgreSQL), and the core's own latency histograms (/metrics).

import type Redis from 'ioredis';
import type { Client } from 'pg';

export interface CounterSources {
  readonly redis: Redis;
  readonly pg: Client;
  /** The core's Prometheus endpoint, when it runs one. */
  readonly metricsUrl?: string | undefined;
}

export interface Counters {
  readonly redis: Record<string, number>;
  /** The next transaction id: its growth counts transactions that wrote something. */
  readonly nextXid: number;
  readonly walLsn: string;
  /** Per histogram family ending in _seconds: sum and count over all label sets. */
  readonly histograms: Record<string, { sum: number; count: number }>;
}

export interface CounterDelta {
  readonly redis: Record<string, number>;
  readonly writeXacts: number;
  readonly walBytes: number;
  readonly histograms: Record<string, { meanMs: number; count: number }>;
}

export async function readCounters(src: CounterSources): Promise<Counters> {
  const [info, pgRow, metrics] = await Promise.all([
    src.redis.info('commandstats'),
    src.pg.query<{ xid: string; lsn: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xid, pg_current_wal_lsn()::text as lsn'),
    src.metricsUrl ? fetch(src.metricsUrl, { signal: AbortSignal.timeout(3_000) }).then((r) => r.text()).catch(() => '') : Promise.resolve(''),
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
  const row = pgRow.rows[0];
  return { redis, nextXid: Number(row?.xid ?? 0), walLsn: row?.lsn ?? '0/0', histograms };
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
  return { redis, writeXacts: b.nextXid - a.nextXid, walBytes: lsnToNumber(b.walLsn) - lsnToNumber(a.walLsn), histograms };
}
