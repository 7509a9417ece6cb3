// The independent monolith (bench/peer-monolith.ts) measured like the monolith phase: the same
// production nginx in front, the same PostgreSQL and Redis, a short warm-up, then a measured window
// of unique paid notifications and the exactly-once check. The orchestrator's own machinery
// (clean-up, nginx, orders, the load generator, measuring) comes in as hooks, so run.ts only wires.

import path from 'node:path';
import { ManagedProcess } from '../harness/managed-process';
import { DEMO } from '../harness/sign-notification';
import type { RunSpec, Target } from './loadgen';
import type { ProcessGroup } from './proc-stats';
import type { WorkloadSpec } from './workload';

/** What the peer run needs from bench/run.ts; `M` is its Measured. */
export interface PeerBaselineHooks<M> {
  /** Registers a clean-up step (run on failure or Ctrl-C); the function returned runs it now. */
  readonly cleanup: (name: string, fn: () => Promise<unknown>) => () => Promise<void>;
  readonly waitForLine: (proc: ManagedProcess, re: RegExp) => Promise<RegExpExecArray>;
  /** nginx with the production gateway/nginx.conf in front of `upstreamPort`. */
  readonly nginxFor: (
    upstreamPort: number,
  ) => Promise<{ pid: () => number | undefined; target: Target; dispose: () => Promise<void> }>;
  /** Registers NOTPAY orders `${prefix}0..n-1` as the other phases get them. */
  readonly createOrders: (prefix: string, n: number) => Promise<void>;
  readonly prepare: (target: Target, workload: WorkloadSpec) => Promise<unknown>;
  /**
   * One window. `groups` are the peer's own processes (PostgreSQL, Redis and the load generator
   * are added by the caller); all of them but the load generator are the system under test.
   */
  readonly measure: (
    spec: RunSpec,
    groups: readonly ProcessGroup[],
    rss: () => Record<string, number | undefined>,
  ) => Promise<M>;
  readonly check: (prefix: string, m: M) => Promise<void>;
}

export interface PeerBaselineOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The stack's unique rate so far (req/s): sizes the orders so that no window runs out. */
  readonly capacity: number;
  readonly connections: number;
  readonly measuredS: number;
  readonly warmupS: number;
  /** Order numbers of this window: no other window's prefix may start with it (the check uses LIKE). */
  readonly prefix: string;
}

/** Group name of the peer process in cpuS / cpuMsPerReq. */
export const PEER_GROUP = 'peer';
/** Label of the measured window (and so of its row in the report). */
const PEER_LABEL = 'independent monolith (unique)';

export async function peerMonolithBaseline<M>(h: PeerBaselineHooks<M>, o: PeerBaselineOptions): Promise<M> {
  // Configured as a single-merchant team would configure tenpay: appid, mch_id and key.
  const proc = await ManagedProcess.spawn(
    'peer monolith',
    process.execPath,
    [path.join(__dirname, 'peer-monolith.js')],
    {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        DATABASE_URL: o.databaseUrl,
        REDIS_URL: o.redisUrl,
        WECHAT_APPID: DEMO.appid,
        WECHAT_MCH_ID: DEMO.mchId,
        WECHAT_API_KEY: DEMO.key,
        PEER_LISTEN: '127.0.0.1:0',
        LOG_LEVEL: 'info',
      },
    },
  );
  const stop = h.cleanup('peer monolith', () => proc.terminate('SIGTERM', 10_000));
  try {
    const port = Number((await h.waitForLine(proc, /peer monolith listening on (\d+)/))[1]);
    const nginx = await h.nginxFor(port);
    try {
      // Sized at three times the stack's rate so that the window cannot run out of orders.
      const n = Math.ceil(o.capacity * 3 * (o.measuredS + o.warmupS)) + 1000;
      await h.createOrders(o.prefix, n);
      const groups: ProcessGroup[] = [
        { name: PEER_GROUP, roots: () => [proc.pid] },
        { name: 'nginx', roots: () => [nginx.pid()] },
      ];
      const rss = (): Record<string, number | undefined> => ({ [PEER_GROUP]: proc.pid });
      await h.prepare(nginx.target, { type: 'unique', prefix: o.prefix, orders: n, seed: 33 });
      // Warmed like every other window: the first warmupS of the same run, on orders of its own.
      const m = await h.measure(
        {
          mode: 'closed',
          connections: o.connections,
          warmupMs: o.warmupS * 1000,
          durationMs: o.measuredS * 1000,
          label: PEER_LABEL,
        },
        groups,
        rss,
      );
      await h.check(o.prefix, m);
      return m;
    } finally {
      await nginx.dispose();
    }
  } finally {
    await stop();
  }
}
