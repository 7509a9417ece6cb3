// The benchmark of the whole path: `node dist/bench/run.js [--quick]` (make bench).
//
// Starts the real stack on throwaway servers (durable PostgreSQL, Redis, the core process, the
// gateway process, nginx with the production nginx.conf) and drives it from a separate load
// generator process. Then the references (pgbench, a trivial core, our core as a monolith, an
// independent monolith on a published SDK), a statement and command count per notification, and
// CPU profiles. Everything it starts is stopped at the end, also on failure or Ctrl-C. Writes
// bench/results[/quick]/{results.json,report.md,throughput-latency.svg}.
//
//   --quick          short windows, fewer points (about 2 minutes)
//   --phases=a,b     only some phases: trace, scenarios, sweep, pgbench, trivial, monolith, peer, profile
//                    (scaleout and soak run only when named; they write to results/scaleout/ and results/soak/)
//   --runs=N         repeat the scenarios, the trivial core and the monolith N times, in alternating
//                    order (runOrder), and judge the targets on every run; the rest runs once
//   --no-snapshot    run from dist/ itself instead of a private copy of it
//   --report-only=bench/results/results.json   only re-render report.md and the chart

import { credentials, Metadata } from '@grpc/grpc-js';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import type { Client } from 'pg';
import { PaymentCallbackClient } from '../src/gen/payment/callback/v1/payment_callback';
import { freePort } from '../harness/free-port';
import { ManagedProcess } from '../harness/managed-process';
import { startNginx, type NginxServer } from '../harness/nginx-server';
import { startRedis, type RedisServer } from '../harness/redis-server';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../harness/service-processes';
import { DEMO, TEST_MERCHANTS_JSON } from '../harness/sign-notification';
import { waitUntil } from '../harness/wait-until';
import { counterDelta, readCounters, type CounterDelta, type CounterSources, type Counters } from './counters';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpu-profile';
import {
  startDurablePostgres,
  type CommitProbeSummary,
  type DurablePostgres,
  type ServerEvents,
} from './durable-postgres';
import { LatencyHistogram, type LatencySummary } from './histogram';
import type { NonSuccessReply, RunResult, RunSpec, Target } from './loadgen';
import { LoadgenProcess } from './loadgen-client';
import { benchNginxConf } from './nginx-conf';
import { PEER_GROUP, peerMonolithBaseline } from './peer-baseline';
import { PGBENCH_PREFIX, PGBENCH_STRIDE, pgbenchScript, runPgbench, type PgbenchResult } from './pgbench';
import {
  cpuSecondsBetween,
  cpuSnapshot,
  machineCpuSeconds,
  readMemory,
  reapedChildrenSeconds,
  RssSampler,
  type CpuSnapshot,
  type ProcessGroup,
} from './proc-stats';
import { compactSql, parseStatementLog, statementKind, statementsOf, type LoggedStatement } from './statement-log';
import { renderScaleOut, scaleOutPhase, type ScaleOutResult } from './scale-out';
import { inSnapshot, repositoryRoot, runFromSnapshot } from './snapshot';
import { throughputLatencySvg } from './svg-chart';
import { linearTrend, type Trend } from './trend';
import { EXPECTED_STATUS, ORDER_FEE, tradeNo, type ItemKind, type WorkloadSpec } from './workload';

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly name: 'full' | 'quick';
  /** Closed-loop concurrency (keep-alive connections to nginx). */
  readonly connections: number;
  /** Open-loop connection pool (requests queue in the generator when all are busy). */
  readonly openConnections: number;
  readonly warmupOrders: number;
  /**
   * The first warm-up, and the warm-up before every measured window: that same scenario, at
   * full load, on fresh orders, so the JIT of every process under test is warm when the window
   * opens (a cold gateway costs 2-3x its warm CPU per request).
   */
  readonly warmupS: number;
  readonly mainS: number;
  readonly sweepS: number;
  readonly sweepFractions: readonly number[];
  readonly pgbenchS: number;
  readonly pgbenchClients: number;
  readonly trivialS: number;
  readonly monolithS: number;
  readonly profileS: number;
  readonly traceN: number;
  /** --runs=N: the measured scenarios and same-run references, repeated (absent before it existed). */
  readonly runs?: number;
}

const FULL: Settings = {
  name: 'full',
  connections: 32,
  openConnections: 64,
  warmupOrders: 2500,
  warmupS: 6,
  mainS: 25,
  sweepS: 12,
  sweepFractions: [0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.15],
  pgbenchS: 20,
  pgbenchClients: 10,
  trivialS: 15,
  monolithS: 25,
  profileS: 15,
  traceN: 20,
};

const QUICK: Settings = {
  name: 'quick',
  connections: 32,
  openConnections: 64,
  warmupOrders: 500,
  warmupS: 3,
  mainS: 5,
  sweepS: 3,
  sweepFractions: [0.4, 0.8, 1.0, 1.15],
  pgbenchS: 3,
  pgbenchClients: 10,
  trivialS: 4,
  monolithS: 5,
  profileS: 4,
  traceN: 10,
};

const ROOT = repositoryRoot();
const NOTIFY_PATH = '/wxpay/notify';
const started = performance.now();

function log(message: string): void {
  process.stdout.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Clean-up: everything started is registered here and stopped in reverse order.

class Teardown {
  private readonly steps: Array<{ name: string; fn: () => Promise<unknown> }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<unknown>): () => Promise<void> {
    const step = { name, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i >= 0) this.steps.splice(i, 1);
      await fn();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop();
        if (!step) break;
        try {
          await step.fn();
        } catch (e) {
          log(`clean-up of ${step.name} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    })();
    return this.running;
  }
}

// ---------------------------------------------------------------------------------------------
// Results

interface Measured {
  readonly label: string;
  readonly run: Omit<RunResult, 'histogram'>;
  readonly latency: LatencySummary;
  /** CPU seconds per process group inside the window. */
  readonly cpuS: Record<string, number>;
  /** CPU milliseconds per request: per group and `total` (the system under test). */
  readonly cpuMsPerReq: Record<string, number>;
  readonly loadgenCpuS: number;
  readonly harnessCpuS: number;
  /**
   * Cores kept busy by processes outside this benchmark during the window (machine busy time
   * minus everything we account for): other work on a shared machine that competed for the CPU.
   */
  readonly foreignCores: number;
  /** Cores the whole machine was busy, on average over the window. */
  readonly machineBusyCores: number;
  /** Share of the system under test's CPU spent in the kernel (stime). */
  readonly sysShare: number;
  /** Wall clock (ms since the epoch) of the window's start and end. */
  readonly windowAt: readonly [number, number];
  /** Seconds spent waiting for other load on the machine to calm down before this run. */
  readonly quietWaitS: number;
  readonly peakRssMb: Record<string, number>;
  readonly counters: CounterDelta | undefined;
  /** Replies whose status is not the one expected for their kind, and lost requests. */
  readonly unexpected: number;
  /** The same, by kind and status. */
  readonly unexpectedDetail?: Record<string, number>;
  /**
   * The unexpected replies by kind, status and the reply's sentence (return_msg); with
   * `counters.coreCodes` and `counters.gatewayGrpcCodes` it says why they were unexpected.
   */
  readonly unexpectedReplies?: readonly NonSuccessReply[];
  check?: Record<string, number | string | boolean>;
}

/** One chunk of the long run: memory is read when it ends. */
interface SoakChunk {
  readonly workload: 'duplicates' | 'mix';
  readonly notifications: number;
  /** Notifications sent since the long run began, this chunk included. */
  readonly cumulative: number;
  readonly rps: number;
  readonly p99Ms: number;
  readonly unexpected: number;
  readonly unexpectedDetail?: Record<string, number>;
  /** As in Measured: the unexpected replies' sentences, the core's and the gateway's codes in the chunk. */
  readonly unexpectedReplies?: Measured['unexpectedReplies'];
  readonly coreCodes?: Record<string, number>;
  readonly gatewayGrpcCodes?: Record<string, number>;
  /** PostgreSQL autovacuum/analyze runs and checkpoints completed during the chunk. */
  readonly maintenance?: Readonly<Record<string, number>>;
  readonly rssMb: Record<string, number>;
  /** The core's V8 heap in use (nodejs_heap_size_used_bytes), MB. */
  readonly coreHeapUsedMb: number | undefined;
  readonly exactlyOnce: boolean | undefined;
  /**
   * Where the chunk's 503 replies came from: the core's RETRY_LATER codes (LOCK_BUSY,
   * STORE_UNAVAILABLE, ...), and "no core answer in time", the 503s the core did not decide (the
   * gateway's deadline, CORE_DEADLINE_MS, or a core it could not reach). CALLER_CANCELLED is the
   * core noticing that deadline; it is counted in the latter, not added to it.
   */
  readonly retryCauses?: Readonly<Record<string, number>>;
  /**
   * Observations over 1 s (histogram buckets): the gateway's calls to the core, HandleNotify in
   * the core, its lock waits and its database writes; and each process's longest event-loop stall.
   */
  readonly over1s?: Readonly<Record<string, number>>;
  readonly loopLagMaxMs?: Readonly<Record<string, number>>;
  /** Checkpoints completed and slow statements, from the PostgreSQL log. */
  readonly server?: ServerEvents;
  /** One-row commits sampled ten times a second beside the load. */
  readonly commits?: CommitProbeSummary;
}

interface SoakResult {
  readonly target: number;
  readonly chunks: SoakChunk[];
  /** Over the chunks after the first quarter (warm-up), per process: RSS, and the core's heap. */
  readonly trends: Record<string, Trend>;
}

type PgbenchRun = PgbenchResult & {
  name: string;
  cpuS: Record<string, number>;
  cpuMsPerTx: number;
  paidRows: number;
  script: string;
};

interface TraceBatch {
  readonly name: string;
  readonly n: number;
  readonly statementsPerNotification: number;
  readonly statementKinds: Record<string, number>;
  readonly redisPerNotification: Record<string, number>;
  readonly writeXactsPerNotification: number;
  readonly walBytesPerNotification: number;
}

/**
 * One repetition of the measured scenarios and the same-run references (--runs=N), in the order
 * it ran them (see runOrder).
 */
interface RunSet {
  /** 1-based. */
  readonly run: number;
  readonly order: readonly string[];
  /** unique, uniqueOpen80, duplicates, duplicatesOpen80, mix. */
  readonly scenarios: Record<string, Measured>;
  trivial?: Measured;
  monolith?: Measured;
  /** The independent monolith, when a run measures it; otherwise Results.peer stands for every run. */
  peer?: Measured;
}

interface Results {
  readonly settings: Settings;
  readonly startedAt: string;
  machine: Record<string, string | number>;
  postgresSettings: Record<string, string>;
  git: { commit: string; dirty: boolean };
  warmup?: Measured;
  scenarios: Record<string, Measured>;
  sweep: Measured[];
  pgbench?: PgbenchRun;
  /** The same, without the statements a proposal would remove (what-if references). */
  pgbenchWhatIf: PgbenchRun[];
  trivial?: Measured;
  monolith?: Measured;
  /** The independent monolith (bench/peer-monolith.ts); absent in results.json files from before it. */
  peer?: Measured;
  /**
   * Every repetition (--runs=N), the first included; `scenarios`, `trivial` and `monolith` above
   * are the first run's. Absent in results.json files from before --runs.
   */
  runs?: RunSet[];
  trace?: { batches: TraceBatch[]; paidSequence: string[] };
  soak?: SoakResult;
  /** --phases=scaleout: one replica and one gateway on a CPU of their own, two replicas. */
  scaleOut?: ScaleOutResult;
  profiles: Record<string, ProfileSummary>;
  durationS?: number;
  errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Machine facts

function machineFacts(): Record<string, string | number> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1];
  return {
    nproc: os.cpus().length,
    cpuModel: model.trim(),
    ...(mhz ? { cpuMHz: Math.round(Number(mhz)) } : {}),
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: os.release(),
    node: process.version,
  };
}

/** fdatasync latency of the file system holding the PostgreSQL data directory. */
function fdatasyncProbe(dir: string): { medianMs: number; p99Ms: number; n: number } {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(8192, 7);
  const h = new LatencyHistogram();
  const deadline = performance.now() + 2_000;
  try {
    for (let i = 0; i < 300 && performance.now() < deadline; i++) {
      fs.writeSync(fd, block, 0, block.length, (i % 16) * 8192);
      const t = performance.now();
      fs.fdatasyncSync(fd);
      h.recordMs(performance.now() - t);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const s = h.summary();
  return { medianMs: s.p50Ms, p99Ms: s.p99Ms, n: s.count };
}

function versionOf(cmd: string, args: string[]): string {
  // nginx -v prints to stderr, the others to stdout.
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n')[0]?.trim() || '?';
}

function gitState(): { commit: string; dirty: boolean } {
  const commit = versionOf('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const status = (() => {
    try {
      return execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'gateway', 'proto'], {
        encoding: 'utf8',
      });
    } catch {
      return '';
    }
  })();
  return { commit, dirty: status.trim() !== '' };
}

// ---------------------------------------------------------------------------------------------
// Orders

/**
 * Registers orders `${prefix}${from..to}` (NOTPAY, ORDER_FEE) by cloning, in SQL, an order that
 * was created through gRPC CreateOrder: whatever columns the schema has, the rows are what
 * CreateOrder writes, only the trade number differs.
 */
class OrderFactory {
  private columns: string[] | undefined;

  constructor(
    private readonly pg: Client,
    private readonly templateTradeNo: string,
  ) {}

  async create(prefix: string, count: number, from = 0): Promise<void> {
    if (count <= 0) return;
    this.columns ??= (
      await this.pg.query<{ column_name: string }>(
        `select column_name from information_schema.columns
        where table_schema = current_schema() and table_name = 'orders'
          and is_identity = 'NO' and coalesce(column_default, '') not like 'nextval(%'
        order by ordinal_position`,
      )
    ).rows.map((r) => r.column_name);
    const cols = this.columns;
    const list = cols.map((c) => `"${c}"`).join(', ');
    const values = cols.map((c) => (c === 'out_trade_no' ? '$1 || g' : `t."${c}"`)).join(', ');
    const chunk = 50_000;
    for (let start = from; start < from + count; start += chunk) {
      const end = Math.min(from + count, start + chunk) - 1;
      await this.pg.query(
        `insert into orders (${list}) select ${values} from orders t cross join generate_series($2::int, $3::int) g
          where t.mch_id = $4 and t.out_trade_no = $5`,
        [prefix, start, end, DEMO.mchId, this.templateTradeNo],
      );
    }
  }
}

function grpcCreateOrder(client: PaymentCallbackClient, outTradeNo: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.createOrder(
      { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo, totalFee: ORDER_FEE, feeType: 'CNY' },
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

async function grpcCreateOrders(
  client: PaymentCallbackClient,
  prefix: string,
  count: number,
  concurrency = 16,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await grpcCreateOrder(client, tradeNo(prefix, next++));
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Measuring one run

interface Observed {
  readonly groups: readonly ProcessGroup[];
  /** Processes whose peak RSS is reported. */
  readonly rss: () => Record<string, number | undefined>;
  readonly counters?: CounterSources | undefined;
  /** Groups that are the system under test (their sum is `total`). */
  readonly sut: readonly string[];
}

/**
 * The machine is shared (other sessions build and test on it): before a measured run, wait up
 * to `maxMs` for a second in which processes outside the benchmark keep less than `cores` busy.
 */
let quietBudgetMs = 0;
/** Set on SIGINT/SIGTERM: the clean-up runs, and no new measurement starts. */
let interruptedBy: string | undefined;
async function waitForQuiet(
  observed: Observed,
  maxMs: number,
  cores = 0.25,
): Promise<{ waitedS: number; foreign: number }> {
  const t0 = performance.now();
  const limit = Math.min(maxMs, quietBudgetMs);
  for (;;) {
    const a = cpuSnapshot(observed.groups);
    const ma = machineCpuSeconds();
    const ha = process.cpuUsage();
    await sleep(1000);
    const ours = Object.values(cpuSecondsBetween(a, cpuSnapshot(observed.groups))).reduce((x, y) => x + y, 0);
    const h = process.cpuUsage(ha);
    const foreign = Math.max(0, machineCpuSeconds().busy - ma.busy - ours - (h.user + h.system) / 1e6);
    const waited = performance.now() - t0;
    if (foreign < cores || waited >= limit) {
      quietBudgetMs = Math.max(0, quietBudgetMs - waited);
      return { waitedS: round(waited / 1000, 1), foreign: round(foreign, 2) };
    }
  }
}

async function measure(
  loadgen: LoadgenProcess,
  spec: RunSpec,
  observed: Observed,
  quietMs = 15_000,
): Promise<Measured> {
  if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`);
  const quiet = await waitForQuiet(observed, quietMs);
  if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`);
  if (quiet.waitedS > 1.5) log(`waited ${quiet.waitedS} s for other load to calm down (now ${quiet.foreign} cores)`);
  let windowAt: [number, number] = [0, 0];
  let cpuA: CpuSnapshot | undefined;
  let cpuB: CpuSnapshot | undefined;
  let machineA = machineCpuSeconds();
  let machineB = machineA;
  let harnessA = process.cpuUsage();
  let harnessS = 0;
  let countersA: Promise<Counters> | undefined;
  let countersB: Promise<Counters> | undefined;
  let peak: Record<string, number> = {};
  const sampler = new RssSampler(observed.rss);
  const result = await loadgen.run(spec, (phase) => {
    if (phase === 'start') {
      cpuA = cpuSnapshot(observed.groups);
      windowAt = [Date.now(), 0];
      machineA = machineCpuSeconds();
      harnessA = process.cpuUsage();
      sampler.start();
      if (observed.counters) countersA = readCounters(observed.counters);
    } else {
      cpuB = cpuSnapshot(observed.groups);
      windowAt = [windowAt[0], Date.now()];
      machineB = machineCpuSeconds();
      const h = process.cpuUsage(harnessA);
      harnessS = (h.user + h.system) / 1e6;
      peak = sampler.stop();
      if (observed.counters) countersB = readCounters(observed.counters);
    }
  });
  const cpuS = cpuA && cpuB ? cpuSecondsBetween(cpuA, cpuB) : {};
  const sysS = cpuA && cpuB ? cpuSecondsBetween(cpuA, cpuB, 'sys') : {};
  const sutSys = Object.entries(sysS)
    .filter(([k]) => observed.sut.includes(k))
    .reduce((x, [, v]) => x + v, 0);
  const perReq: Record<string, number> = {};
  let total = 0;
  for (const [name, s] of Object.entries(cpuS)) {
    perReq[name] = result.completed > 0 ? round((s * 1000) / result.completed, 3) : 0;
    if (observed.sut.includes(name)) total += s;
  }
  perReq['total'] = result.completed > 0 ? round((total * 1000) / result.completed, 3) : 0;
  const counters = countersA && countersB ? counterDelta(await countersA, await countersB) : undefined;
  const ours = Object.values(cpuS).reduce((a, b) => a + b, 0) + harnessS;
  const machineBusyS = machineB.busy - machineA.busy;
  const foreignCores = Math.max(0, machineBusyS - ours) / result.windowS;
  let unexpected = result.errors;
  const unexpectedDetail: Record<string, number> =
    result.errors > 0 ? { 'no reply (socket error)': result.errors } : {};
  for (const [kind, byStatus] of Object.entries(result.statusByKind)) {
    for (const [status, n] of Object.entries(byStatus)) {
      if (status !== 'error' && Number(status) !== EXPECTED_STATUS[kind as ItemKind]) {
        unexpected += n;
        unexpectedDetail[`${kind} → HTTP ${status}`] = n;
      }
    }
  }
  const unexpectedReplies = (result.nonSuccessReplies ?? []).filter((x) => x.status !== EXPECTED_STATUS[x.kind]);
  const { histogram, ...run } = result;
  const latency = LatencyHistogram.fromJSON(histogram).summary();
  log(
    `${spec.label}: ${round(result.rps)} req/s over ${round(result.windowS)} s, p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms, ` +
      `p99.9 ${latency.p999Ms} ms, CPU ${perReq['total']} ms/req, unexpected ${unexpected}, other load ${round(foreignCores, 2)} cores` +
      `${result.exhausted ? ' (ran out of requests)' : ''}${unexpected > 0 ? ` unexpected: ${whyUnexpected({ unexpected, unexpectedReplies, counters })}` : ''}`,
  );
  return {
    label: spec.label,
    run,
    latency,
    cpuS: Object.fromEntries(Object.entries(cpuS).map(([k, v]) => [k, round(v, 2)])),
    cpuMsPerReq: perReq,
    loadgenCpuS: round(result.loadgenCpuS, 2),
    harnessCpuS: round(harnessS, 2),
    foreignCores: round(foreignCores, 2),
    machineBusyCores: round(machineBusyS / result.windowS, 2),
    sysShare: total > 0 ? round(sutSys / total, 3) : 0,
    windowAt,
    quietWaitS: quiet.waitedS,
    peakRssMb: peak,
    counters,
    unexpected,
    unexpectedDetail,
    unexpectedReplies,
  };
}

/**
 * What the unexpected replies of a window were and what the core and the gateway counted
 * meanwhile: { replies: "503 ×3 (the service is temporarily unavailable; retry later)",
 * core: "PAID ×2,890, LOCK_BUSY ×2", gateway: "OK ×2,893, DEADLINE_EXCEEDED ×1" }.
 */
function whyParts(m: Why): { replies: string; core: string; gateway: string } {
  const replies = m.unexpectedReplies ?? [];
  const byStatus = new Map<string, number>();
  for (const x of replies) {
    const key = `${x.status}\u0000${x.message}`;
    byStatus.set(key, (byStatus.get(key) ?? 0) + x.count);
  }
  const shown = [...byStatus].map(([k, n]) => {
    const [status, message] = k.split('\u0000');
    return `${status} ×${n.toLocaleString('en-US')} (${message ?? ''})`;
  });
  const counted = replies.reduce((a, x) => a + x.count, 0);
  // Lost connections and timeouts have no reply to read; files from before have no sentences.
  if (m.unexpected > counted)
    shown.push(
      `${m.unexpectedReplies ? 'no reply' : 'not recorded'} ×${(m.unexpected - counted).toLocaleString('en-US')}`,
    );
  const codes = (c: Record<string, number> | undefined, label: (k: string) => string): string =>
    c
      ? Object.entries(c)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${label(k)} ×${v.toLocaleString('en-US')}`)
          .join(', ') || 'none'
      : 'not measured';
  // `outcome/code`: the code says why, except OK (PAID/OK), where the outcome does.
  const coreLabel = (k: string): string => {
    const [outcome, code] = k.split('/');
    return code && code !== 'OK' ? code : (outcome ?? k);
  };
  return {
    replies: shown.join(', ') || 'none',
    core: codes(m.coreCodes, coreLabel),
    gateway: codes(m.gatewayGrpcCodes, (k) => k),
  };
}

/** What whyParts reads: a window's (whyOf) or a long-run chunk's. */
interface Why {
  readonly unexpected: number;
  readonly unexpectedReplies?: Measured['unexpectedReplies'];
  readonly coreCodes?: Record<string, number> | undefined;
  readonly gatewayGrpcCodes?: Record<string, number> | undefined;
}

const whyOf = (m: Pick<Measured, 'unexpected' | 'unexpectedReplies' | 'counters'>): Why => ({
  unexpected: m.unexpected,
  unexpectedReplies: m.unexpectedReplies,
  coreCodes: m.counters?.coreCodes,
  gatewayGrpcCodes: m.counters?.gatewayGrpcCodes,
});

/** whyParts as one line, for the log. */
function whyUnexpected(m: Pick<Measured, 'unexpected' | 'unexpectedReplies' | 'counters'>): string {
  const w = whyParts(whyOf(m));
  return `unexpected replies: ${w.replies}; core codes in window: ${w.core}; gateway→core gRPC codes: ${w.gateway}`;
}

// ---------------------------------------------------------------------------------------------
// The stack

/** A core or gateway process: from harness/'s startCoreProcess/startGatewayProcess, or profiled. */
interface Service {
  readonly port: number;
  /** Date.now() when the process was spawned. */
  readonly startedAt: number;
  pid(): number | undefined;
  stop(): Promise<unknown>;
}

interface Stack {
  core: Service;
  gateway: Service;
  nginx: NginxServer;
  target: Target;
  metricsUrl: string;
  /** The gateway's /metrics: its calls to the core by gRPC status. */
  gatewayMetricsUrl: string;
  stop(): Promise<void>;
}

async function startNginxFor(
  teardown: Teardown,
  upstreamPort: number,
): Promise<{ nginx: NginxServer; target: Target; dispose: () => Promise<void> }> {
  const port = await freePort();
  const nginx = await startNginx((paths) => benchNginxConf(paths.dir, port, upstreamPort), { port });
  const dispose = teardown.add('nginx', () => nginx.dispose());
  return { nginx, target: { port, path: NOTIFY_PATH }, dispose };
}

function fromServiceProcess(p: ServiceProcess, startedAt: number): Service {
  return { port: p.port, startedAt, pid: () => p.process?.pid, stop: () => p.stop() };
}

/**
 * `node --cpu-prof <script>`: the flag is refused in NODE_OPTIONS, so the profiled core and
 * gateway are spawned here with the same environment harness/ gives them.
 */
async function startProfiled(
  name: string,
  script: string,
  ready: string,
  env: Record<string, string>,
  port: number,
  profileDir: string,
): Promise<Service> {
  const startedAt = Date.now();
  const proc = await ManagedProcess.spawn(
    name,
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, path.join(__dirname, '..', script)],
    { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LOG_LEVEL: 'info', ...env } },
  );
  await waitUntil(
    `${name} to listen`,
    20_000,
    () => {
      if (!proc.running) throw new Error(`${name} exited during start-up:\n${proc.output()}`);
      return proc.outputIncludes(ready);
    },
    { details: () => proc.output() },
  );
  return {
    port,
    startedAt,
    pid: () => (proc.running ? proc.pid : undefined),
    stop: () => proc.terminate('SIGTERM', 30_000),
  };
}

async function startStack(
  teardown: Teardown,
  databaseUrl: string,
  redisUrl: string,
  profileDirs?: { core: string; gateway: string },
): Promise<Stack> {
  const metricsPort = await freePort();
  const coreEnv = {
    DATABASE_URL: databaseUrl,
    REDIS_URLS: redisUrl,
    MERCHANTS_JSON: TEST_MERCHANTS_JSON,
    METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    LOG_LEVEL: 'info',
    // As harness/service-processes.ts does: no caller tokens between gateway and core.
    AUTH_DISABLED: 'true',
  };
  let core: Service;
  if (profileDirs) {
    const port = await freePort();
    core = await startProfiled(
      'core (profiled)',
      'src/main.js',
      'payment-callback core listening',
      { ...coreEnv, GRPC_LISTEN: `127.0.0.1:${port}` },
      port,
      profileDirs.core,
    );
  } else {
    core = fromServiceProcess(await startCoreProcess(coreEnv), Date.now());
  }
  const stopCore = teardown.add('core', () => core.stop());
  // On a port of its own: the gateway's default (9465) may be taken by another bench or test.
  const gatewayMetricsPort = await freePort();
  const gatewayMetricsListen = `127.0.0.1:${gatewayMetricsPort}`;
  let gateway: Service;
  if (profileDirs) {
    const port = await freePort();
    gateway = await startProfiled(
      'gateway (profiled)',
      'gateway/main.js',
      'payment-callback gateway listening',
      {
        CORE_GRPC_TARGET: `127.0.0.1:${core.port}`,
        GATEWAY_LISTEN: `127.0.0.1:${port}`,
        GATEWAY_METRICS_LISTEN: gatewayMetricsListen,
      },
      port,
      profileDirs.gateway,
    );
  } else {
    gateway = fromServiceProcess(
      await startGatewayProcess(core.port, { LOG_LEVEL: 'info', GATEWAY_METRICS_LISTEN: gatewayMetricsListen }),
      Date.now(),
    );
  }
  const stopGateway = teardown.add('gateway', () => gateway.stop());
  const { nginx, target, dispose } = await startNginxFor(teardown, gateway.port);
  return {
    core,
    gateway,
    nginx,
    target,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    gatewayMetricsUrl: `http://${gatewayMetricsListen}/metrics`,
    stop: async () => {
      await dispose();
      await stopGateway();
      await stopCore();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const reportOnly = args.find((a) => a.startsWith('--report-only='))?.slice('--report-only='.length);
  if (reportOnly) {
    // Re-render report.md and the chart from an earlier results.json (after changing the report code).
    const results = JSON.parse(fs.readFileSync(reportOnly, 'utf8')) as Results;
    results.pgbenchWhatIf ??= [];
    writeOutputs(results, path.dirname(path.resolve(reportOnly)));
    return;
  }
  if (!inSnapshot() && !args.includes('--no-snapshot')) {
    process.exitCode = await runFromSnapshot(args);
    return;
  }
  const runsArg = args.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? '1';
  const runs = Number(runsArg);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, not ${runsArg}`);
  const settings: Settings = { ...(args.includes('--quick') ? QUICK : FULL), runs };
  const only = args
    .find((a) => a.startsWith('--phases='))
    ?.slice('--phases='.length)
    .split(',');
  // The long run only when asked for: it takes half an hour at this machine's rate.
  // scaleout only when named too: it is an input of the sizing model, not a figure of the stack.
  const want = (phase: string): boolean => phase !== 'soak' && (only ? only.includes(phase) : phase !== 'scaleout');
  const soakArg = args.find((a) => a.startsWith('--soak-notifications='))?.slice('--soak-notifications='.length);
  soakTarget = soakArg !== undefined ? Number(soakArg) : only?.includes('soak') ? 1_000_000 : 0;
  if (!Number.isSafeInteger(soakTarget) || soakTarget < 0)
    throw new Error(`--soak-notifications must be a whole number, not ${soakArg ?? ''}`);
  // --pg-setting=checkpoint_timeout=30s (repeatable): the checkpoint reproducer, and tuning experiments.
  for (const a of args.filter((x) => x.startsWith('--pg-setting='))) {
    const m = /^--pg-setting=([a-z_]+)=(.+)$/.exec(a);
    if (!m?.[1] || !m[2]) throw new Error(`--pg-setting wants name=value, not ${a}`);
    pgSettings[m[1]] = m[2];
  }
  // The long run writes its own report, beside the main one rather than over it.
  const outDir = path.join(
    ROOT,
    'bench',
    'results',
    ...(settings.name === 'quick' ? ['quick'] : []),
    ...(soakTarget > 0 ? ['soak'] : []),
    ...(soakTarget === 0 && only?.includes('scaleout') ? ['scaleout'] : []),
  );
  fs.mkdirSync(outDir, { recursive: true });

  quietBudgetMs = settings.name === 'quick' ? 4_000 : 120_000;
  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy) return;
    interruptedBy = signal;
    log(`${signal}: stopping everything`);
    void teardown.run().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: Results = {
    settings,
    startedAt: new Date().toISOString(),
    machine: machineFacts(),
    postgresSettings: {},
    git: gitState(),
    scenarios: {},
    sweep: [],
    profiles: {},
    errors: [],
    pgbenchWhatIf: [],
  };
  log(
    `${settings.name} run on ${results.machine['nproc']} x ${results.machine['cpuModel']}, ${results.machine['ramGiB']} GiB`,
  );
  try {
    await runAll(settings, results, teardown, want, outDir);
  } catch (e) {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    results.errors.push(message);
    log(`FAILED: ${message}`);
    process.exitCode = 1;
  } finally {
    await teardown.run();
    results.durationS = round((performance.now() - started) / 1000);
    writeOutputs(results, outDir);
    log(`done in ${results.durationS} s; results in ${path.relative(process.cwd(), outDir) || '.'}`);
  }
}

async function runAll(
  settings: Settings,
  results: Results,
  teardown: Teardown,
  want: (p: string) => boolean,
  outDir: string,
): Promise<void> {
  // --- servers
  const [pg, redisServer] = await Promise.all([startDurablePostgres(pgSettings), startRedis()]);
  teardown.add('postgres', () => pg.dispose());
  teardown.add('redis', () => redisServer.dispose());
  const fsync = fdatasyncProbe(pg.dir);
  results.machine['fdatasyncMedianMs'] = fsync.medianMs;
  results.machine['fdatasyncP99Ms'] = fsync.p99Ms;
  results.machine['postgres'] = versionOf(path.join(pg.bindir, 'postgres'), ['--version']);
  results.machine['redis'] = versionOf('redis-server', ['--version']);
  results.machine['nginx'] = versionOf(fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx', ['-v']);
  results.postgresSettings = await pg.settings();
  log(
    `postgres ${JSON.stringify(results.postgresSettings)}; fdatasync median ${fsync.medianMs} ms, p99 ${fsync.p99Ms} ms`,
  );
  const databaseUrl = await pg.createDatabase('payment_callback');
  const db = await pg.connect('payment_callback');
  teardown.add('bench db client', () => db.end());
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  teardown.add('bench redis client', async () => redis.disconnect());

  const stack = await startStack(teardown, databaseUrl, redisServer.url);
  log(`stack up: nginx :${stack.target.port} -> gateway :${stack.gateway.port} -> core :${stack.core.port}`);
  const grpc = new PaymentCallbackClient(`127.0.0.1:${stack.core.port}`, credentials.createInsecure());
  teardown.add('grpc client', async () => grpc.close());
  const loadgen = LoadgenProcess.start();
  teardown.add('load generator', () => loadgen.close());

  const pgGroup: ProcessGroup = { name: 'postgres', roots: () => [pg.pid] };
  const redisGroup: ProcessGroup = { name: 'redis', roots: () => [redisServer.pid] };
  const stackObserved = (s: Stack): Observed => ({
    groups: [
      { name: 'core', roots: () => [s.core.pid()] },
      { name: 'gateway', roots: () => [s.gateway.pid()] },
      { name: 'nginx', roots: () => [s.nginx.pid] },
      pgGroup,
      redisGroup,
      { name: 'loadgen', roots: () => [loadgen.pid] },
    ],
    rss: () => ({ core: s.core.pid(), gateway: s.gateway.pid() }),
    counters: { redis, pg: db, metricsUrl: s.metricsUrl, gatewayMetricsUrl: s.gatewayMetricsUrl },
    sut: ['core', 'gateway', 'nginx', 'postgres', 'redis'],
  });

  // --- orders: one through gRPC CreateOrder as the template, the warm-up ones through gRPC too
  const templateNo = 'bTEMPLATE';
  await grpcCreateOrder(grpc, templateNo);
  const orders = new OrderFactory(db, templateNo);
  const t0 = performance.now();
  await grpcCreateOrders(grpc, 'bW', settings.warmupOrders);
  log(
    `${settings.warmupOrders} warm-up orders created through gRPC CreateOrder in ${round((performance.now() - t0) / 1000, 1)} s`,
  );

  const closed = (label: string, durationS: number, warmupS = 0, connections = settings.connections): RunSpec => ({
    mode: 'closed',
    connections,
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    label,
  });

  // --- warm-up: JIT, pools, connections; gives the first capacity estimate. Cloned orders follow
  // the gRPC-created ones so that it lasts warmupS at any rate this machine reaches.
  const warmupOrders = settings.warmupOrders + 2_000 * settings.warmupS;
  await orders.create('bW', warmupOrders - settings.warmupOrders, settings.warmupOrders);
  await loadgen.prepare(stack.target, { type: 'unique', prefix: 'bW', orders: warmupOrders, seed: 1 });
  results.warmup = await measure(loadgen, closed('warm-up (unique)', settings.warmupS), stackObserved(stack));
  let capacity = Math.max(100, results.warmup.run.rps);

  // --- trace: statements, Redis commands, write transactions and WAL per notification
  let template: LoggedStatement[] = [];
  let templateTradeNo = '';
  if (want('trace') || want('pgbench')) {
    const traced = await traceNotifications(settings, loadgen, stack, pg, db, redis, orders);
    results.trace = { batches: traced.batches, paidSequence: traced.paidSequence };
    template = traced.template;
    templateTradeNo = traced.templateTradeNo;
  }

  // --- the measured scenarios and the same-run references, --runs=N times in alternating order
  const check = async (prefix: string, m: Measured): Promise<void> => {
    m.check = await checkScenario(db, prefix, m.run.ackedOrders);
    const c = m.check;
    if (c['exactlyOnce'] === false || c['allAckedPaid'] === false) {
      results.errors.push(`${m.label}: correctness check failed ${JSON.stringify(c)}`);
      log(`CHECK FAILED ${JSON.stringify(c)}`);
    }
  };
  /** Orders for a closed-loop window and its warm-up, at `perCapacity` times the rate so far. */
  const closedOrders = (perCapacity: number): number =>
    Math.ceil(sizingRate() * perCapacity * (settings.mainS + settings.warmupS)) + 1000;
  // The first warm-up meets a cold stack and underestimates it several times over: until a unique
  // window was measured, orders are sized on 1,500 req/s (above the trivial core's ceiling here),
  // so that no window runs out of orders. Cloning unused orders costs little.
  let uniqueMeasured = false;
  const sizingRate = (): number => (uniqueMeasured ? capacity : Math.max(capacity, 1500));
  const scenario = async (
    set: RunSet,
    key: string,
    workload: WorkloadSpec,
    ordersNeeded: number,
  ): Promise<Measured> => {
    await orders.create(workload.prefix, ordersNeeded);
    await loadgen.prepare(stack.target, { ...workload, orders: ordersNeeded });
    // The warm-up is the run's first warmupS: the same scenario on orders of its own, and no
    // pause (no prepare, no quiet wait) between it and the window.
    const m = await measure(loadgen, closed(key, settings.mainS, settings.warmupS), stackObserved(stack));
    await check(workload.prefix, m);
    set.scenarios[key] = m;
    return m;
  };
  // Latency at a fixed rate below capacity (closed-loop latency is mostly queueing). It runs right
  // after the same scenario's closed-loop window, which leaves every process warm.
  const openAt80 = async (
    set: RunSet,
    key: string,
    name: string,
    workload: WorkloadSpec,
    closedRps: number,
  ): Promise<void> => {
    const rate = Math.max(10, Math.round(closedRps * 0.8));
    // A storm order carries 5-10 notifications (7.5 on average).
    const n = Math.ceil((rate * (settings.sweepS + 1)) / (workload.type === 'duplicates' ? 7.5 : 1)) + 300;
    await orders.create(workload.prefix, n);
    await loadgen.prepare(stack.target, { ...workload, orders: n });
    const m = await measure(
      loadgen,
      {
        mode: 'open',
        connections: settings.openConnections,
        rate,
        warmupMs: 1000,
        durationMs: settings.sweepS * 1000,
        label: `${name}, open loop at 80% (${rate} req/s offered)`,
      },
      stackObserved(stack),
    );
    await check(workload.prefix, m);
    set.scenarios[key] = m;
  };
  /** Something measured in every run; `prefix` makes its order numbers the run's own. */
  interface Repeated {
    readonly name: string;
    readonly run: (set: RunSet, prefix: (name: string) => string) => Promise<void>;
  }
  const repeated: Repeated[] = [];
  if (want('scenarios')) {
    repeated.push(
      {
        name: 'unique',
        run: async (set, px) => {
          const u = await scenario(
            set,
            'unique',
            { type: 'unique', prefix: px('U'), orders: 0, seed: 2 },
            closedOrders(2.5),
          );
          capacity = u.run.rps;
          uniqueMeasured = true;
          await openAt80(
            set,
            'uniqueOpen80',
            'unique',
            { type: 'unique', prefix: px('Uo'), orders: 0, seed: 6 },
            u.run.rps,
          );
        },
      },
      {
        name: 'duplicates',
        run: async (set, px) => {
          const d = await scenario(
            set,
            'duplicates',
            { type: 'duplicates', prefix: px('D'), orders: 0, seed: 3 },
            closedOrders(0.8),
          );
          await openAt80(
            set,
            'duplicatesOpen80',
            'duplicate storm',
            { type: 'duplicates', prefix: px('Do'), orders: 0, seed: 5 },
            d.run.rps,
          );
        },
      },
      {
        name: 'mix',
        run: async (set, px) => {
          await scenario(set, 'mix', { type: 'mix', prefix: px('M'), orders: 0, seed: 4 }, closedOrders(2.5));
        },
      },
    );
  }
  // --- HTTP -> gRPC -> trivial core ceiling (nginx and the real gateway in front)
  if (want('trivial')) {
    repeated.push({
      name: 'trivial',
      run: async (set) => {
        set.trivial = await trivialCeiling(settings, teardown, loadgen, sizingRate());
      },
    });
  }
  // --- the monolith baseline (nginx in front, same PostgreSQL and Redis)
  if (want('monolith')) {
    repeated.push({
      name: 'monolith',
      run: async (set, px) => {
        set.monolith = await monolithBaseline(
          settings,
          teardown,
          loadgen,
          databaseUrl,
          redisServer,
          orders,
          sizingRate(),
          { redis, pg: db },
          pgGroup,
          redisGroup,
          check,
          px('N'),
        );
      },
    });
  }
  // --- the independent monolith (bench/peer-monolith.ts): same nginx, PostgreSQL and Redis
  if (want('peer')) {
    repeated.push({
      name: 'peer',
      run: async (set, px) => {
        set.peer = await peerMonolithBaseline<Measured>(
          {
            cleanup: (name, fn) => teardown.add(name, fn),
            waitForLine,
            nginxFor: async (upstreamPort) => {
              const { nginx, target, dispose } = await startNginxFor(teardown, upstreamPort);
              return { pid: () => nginx.pid, target, dispose };
            },
            createOrders: (prefix, n) => orders.create(prefix, n),
            prepare: (target, workload) => loadgen.prepare(target, workload),
            measure: (spec, groups, rss) =>
              measure(loadgen, spec, {
                groups: [...groups, pgGroup, redisGroup, { name: 'loadgen', roots: () => [loadgen.pid] }],
                rss,
                counters: { redis, pg: db },
                sut: [...groups.map((g) => g.name), 'postgres', 'redis'],
              }),
            check,
          },
          {
            databaseUrl,
            redisUrl: redisServer.url,
            capacity: sizingRate(),
            connections: settings.connections,
            measuredS: settings.monolithS,
            warmupS: settings.warmupS,
            prefix: px('P'),
          },
        );
      },
    });
  }
  if (repeated.length > 0) {
    const runs: RunSet[] = [];
    results.runs = runs;
    const n = settings.runs ?? 1;
    for (let run = 1; run <= n; run++) {
      const order = runOrder(repeated, run);
      const set: RunSet = { run, order: order.map((x) => x.name), scenarios: {} };
      runs.push(set);
      if (n > 1) log(`run ${run} of ${n}: ${set.order.join(', ')}`);
      // `b1Ux`: the x ends the prefix, so that no check's LIKE 'b1Ux%' takes in another's orders.
      for (const x of order) await x.run(set, (name) => `b${run}${name}x`);
    }
    const first = runs[0];
    if (first) {
      results.scenarios = first.scenarios;
      if (first.trivial) results.trivial = first.trivial;
      if (first.monolith) results.monolith = first.monolith;
      if (first.peer) results.peer = first.peer;
    }
    // The sweep and the profile are sized on the typical run, not on the last one.
    const uniques = runs.flatMap((x) => (x.scenarios['unique'] ? [x.scenarios['unique'].run.rps] : []));
    if (uniques.length > 0) capacity = median(uniques);
  }

  // --- open-loop sweep of the unique scenario
  if (want('sweep')) {
    // Its points warm up at their own rate only (1 s): the batch first gets a full-load warm-up
    // of the same scenario on fresh orders, in case nothing ran before it (--phases=sweep).
    {
      const n = Math.ceil(capacity * 2.5 * settings.warmupS) + 500;
      await orders.create('bSWx', n);
      await loadgen.prepare(stack.target, { type: 'unique', prefix: 'bSWx', orders: n, seed: 9 });
      const r = await loadgen.run(closed('warm-up before the sweep', settings.warmupS), () => undefined);
      log(`warm-up before the sweep: ${round(r.rps)} req/s`);
    }
    for (const [i, fraction] of settings.sweepFractions.entries()) {
      const rate = Math.max(10, Math.round(capacity * fraction));
      const prefix = `bS${i}x`;
      const n = Math.ceil(rate * (settings.sweepS + 1)) + 50;
      await orders.create(prefix, n);
      await loadgen.prepare(stack.target, { type: 'unique', prefix, orders: n, seed: 10 + i });
      const m = await measure(
        loadgen,
        {
          mode: 'open',
          connections: settings.openConnections,
          rate,
          warmupMs: 1000,
          durationMs: settings.sweepS * 1000,
          label: `open loop ${Math.round(fraction * 100)}% (${rate} req/s offered)`,
        },
        stackObserved(stack),
      );
      await check(prefix, m);
      results.sweep.push(m);
      await sleep(500);
    }
  }

  // --- pgbench: the bare PostgreSQL ceiling for the same statements
  if (want('pgbench') && template.length > 0) {
    const run = (name: string, prefix: string, statements: LoggedStatement[]): Promise<PgbenchRun> =>
      pgbenchCeiling(settings, pg, db, name, prefix, statements, templateTradeNo, capacity, orders, outDir, pgGroup);
    results.pgbench = await run('as the core runs it', PGBENCH_PREFIX, template);
    // The one statement every paid notification's transaction queues on (see "Where the time goes").
    const hotRow = /update "outbox_head"/i;
    if (template.some((s) => hotRow.test(s.sql))) {
      results.pgbenchWhatIf.push(
        await run(
          'what-if: without UPDATE outbox_head',
          'H',
          template.filter((s) => !hotRow.test(s.sql)),
        ),
      );
    }
    // The write alone, without the unlocked read that comes first.
    const writes = template.filter((s) => !/^SELECT /.test(statementKind(s.sql)));
    if (writes.length > 0 && writes.length < template.length) {
      results.pgbenchWhatIf.push(
        await run(
          `what-if: the write${writes.length > 1 ? 's' : ''} alone (${writes.map((s) => statementKind(s.sql)).join('; ')}), without the read before the lock`,
          'J',
          writes,
        ),
      );
    }
  }

  // --- the long run: is memory flat? (only when asked for: --phases=soak)
  if (soakTarget > 0) {
    const observed = stackObserved(stack);
    // Ten commits a second beside the load: what a commit costs while a checkpoint completes.
    const probe = await pg.startCommitProbe();
    teardown.add('commit probe', () => probe.stop());
    results.soak = await soakRun(soakTarget, async (i, workload) => {
      const prefix = `bK${i}x`;
      const chunk = soakChunk(soakTarget);
      // duplicates: 5-10 copies per order (7.5 on average); mix: one notification per slot.
      const ordersNeeded = workload === 'duplicates' ? Math.ceil(chunk / 7.5) : chunk;
      await orders.create(prefix, ordersNeeded);
      const count = await loadgen.prepare(stack.target, {
        type: workload,
        prefix,
        orders: ordersNeeded,
        seed: 1000 + i,
      });
      const urls = { core: stack.metricsUrl, gateway: stack.gatewayMetricsUrl };
      const before = await readTallies(urls);
      const m = await measure(
        loadgen,
        closed(`soak chunk ${i + 1} (${workload}, ${count} notifications)`, 3_600),
        observed,
        0,
      );
      const after = await readTallies(urls);
      await check(prefix, m);
      const [from, to] = m.windowAt;
      return {
        m,
        count,
        rssMb: { core: mb(readMemory(stack.core.pid())?.rssKb), gateway: mb(readMemory(stack.gateway.pid())?.rssKb) },
        coreHeapUsedMb: await coreHeapUsedMb(stack.metricsUrl),
        core: talliesBetween(before, after),
        server: await pg.serverEvents(from, to),
        commits: probe.between(from, to),
      };
    });
  }

  // (The trivial core and the monolith are measured with the scenarios, in every run: above.)

  // --- scale-out inputs (only when named): one replica and one gateway on a CPU of their own, two replicas
  if (want('scaleout')) {
    results.scaleOut = await scaleOutPhase<Measured>({
      quick: settings.name === 'quick',
      connections: settings.connections,
      teardown,
      loadgen,
      databaseUrl,
      redisUrl: redisServer.url,
      postgresPid: () => pg.pid,
      redisPid: () => redisServer.pid,
      counters: { redis, pg: db },
      capacity,
      createOrders: (prefix, n) => orders.create(prefix, n),
      measure: (spec, observed) => measure(loadgen, spec, observed),
      check,
      log,
    });
  }

  // --- CPU profiles of the core and the gateway under the unique load
  if (want('profile')) {
    await stack.stop();
    results.profiles = await profileRun(
      settings,
      teardown,
      loadgen,
      databaseUrl,
      redisServer.url,
      orders,
      capacity,
      outDir,
    );
  }
}

/**
 * The order of the repeated items in run `run` (1-based): odd runs forward, even runs reversed,
 * and each pair of runs starts one item later than the pair before. With unique, duplicates,
 * mix, trivial, monolith: run 1 U D M T N, run 2 N T M D U, run 3 D M T N U, run 4 T M D U N.
 * No item is always first (the coldest database, the least to vacuum) or always after the same
 * neighbour (whose dead rows and checkpoints it inherits).
 */
function runOrder<T>(items: readonly T[], run: number): T[] {
  const base = run % 2 === 1 ? [...items] : [...items].reverse();
  const k = Math.floor((run - 1) / 2) % Math.max(1, base.length);
  return [...base.slice(k), ...base.slice(0, k)];
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? 0) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

// ---------------------------------------------------------------------------------------------
// The long run

/** Notifications per chunk of the long run (memory is read between chunks): 20 chunks, 50,000 at most. */
const soakChunk = (target: number): number => Math.min(50_000, Math.max(2_000, Math.ceil(target / 20)));
/** Set by --phases=soak (default 1,000,000 notifications) or --soak-notifications=N. */
let soakTarget = 0;

const mb = (kb: number | undefined): number => round((kb ?? 0) / 1024, 1);
/** --pg-setting=name=value: settings of the bench's PostgreSQL over its defaults (bench/durable-postgres.ts). */
const pgSettings: Record<string, string> = {};

/**
 * What the core's and the gateway's /metrics say, read before and after each chunk: the core's
 * decisions, the gateway's calls by gRPC status, how many observations of each latency histogram
 * were over 1 s, and each process's longest event-loop stall since the previous read.
 */
interface Tallies {
  /** payment_callback_notifications_total by "outcome code". */
  readonly outcomes: Record<string, number>;
  /** payment_callback_gateway_core_call_seconds_count by grpc_code. */
  readonly grpcCodes: Record<string, number>;
  /** Per histogram (SLOW_HISTOGRAMS): [all observations, those at or under 1 s]. */
  readonly histograms: Record<string, readonly [number, number]>;
  /** nodejs_eventloop_lag_max_seconds, ms (prom-client resets it at every read). */
  readonly loopLagMaxMs: Record<string, number>;
}

/** The histograms whose observations over 1 s a chunk reports, by a short name. */
const SLOW_HISTOGRAMS: Readonly<Record<string, string>> = Object.freeze({
  gateway: 'payment_callback_gateway_core_call_seconds',
  core: 'payment_callback_handle_notify_seconds',
  'lock wait': 'payment_callback_lock_wait_seconds',
  store: 'payment_callback_store_seconds',
});

async function readTallies(urls: { core: string; gateway: string }): Promise<Tallies> {
  const scrape = (url: string): Promise<string> =>
    fetch(url, { signal: AbortSignal.timeout(3_000) })
      .then((r) => r.text())
      .catch(() => '');
  const texts = { core: await scrape(urls.core), gateway: await scrape(urls.gateway) };
  const text = `${texts.core}\n${texts.gateway}`;
  const sum = (sample: string, label: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const m of text.matchAll(new RegExp(`^${sample}\\{([^}]*)\\} ([0-9.eE+-]+)$`, 'gm'))) {
      const key = (m[1] ?? '')
        .split(',')
        .map((l) => new RegExp(`^(?:${label})="(.*)"$`).exec(l)?.[1])
        .filter((v) => v !== undefined)
        .join(' ');
      out[key] = (out[key] ?? 0) + Number(m[2]);
    }
    return out;
  };
  const histograms: Record<string, readonly [number, number]> = {};
  for (const [name, metric] of Object.entries(SLOW_HISTOGRAMS)) {
    const byLe = sum(`${metric}_bucket`, 'le');
    histograms[name] = [byLe['+Inf'] ?? 0, byLe['1'] ?? 0];
  }
  const loopLagMaxMs: Record<string, number> = {};
  for (const [name, t] of Object.entries(texts)) {
    const v = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(t)?.[1];
    if (v !== undefined) loopLagMaxMs[name] = Math.round(Number(v) * 1000);
  }
  return {
    outcomes: sum('payment_callback_notifications_total', 'outcome|code'),
    grpcCodes: sum('payment_callback_gateway_core_call_seconds_count', 'grpc_code'),
    histograms,
    loopLagMaxMs,
  };
}

/** A chunk's share of the tallies: RETRY_LATER decisions by code, gateway calls by gRPC status, observations over 1 s. */
interface ChunkTallies {
  readonly retryLater: Record<string, number>;
  readonly grpcCodes: Record<string, number>;
  readonly over1s: Record<string, number>;
  readonly loopLagMaxMs: Record<string, number>;
}

function talliesBetween(a: Tallies, b: Tallies): ChunkTallies {
  const grown = (x: Record<string, number>, y: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(y)
        .map(([k, v]) => [k, v - (x[k] ?? 0)] as const)
        .filter(([, d]) => d > 0),
    );
  const retryLater = Object.fromEntries(
    Object.entries(grown(a.outcomes, b.outcomes))
      .filter(([k]) => k.startsWith('RETRY_LATER '))
      .map(([k, v]) => [k.slice('RETRY_LATER '.length), v]),
  );
  const over1s: Record<string, number> = {};
  for (const name of Object.keys(SLOW_HISTOGRAMS)) {
    const [allA, fastA] = a.histograms[name] ?? [0, 0];
    const [allB, fastB] = b.histograms[name] ?? [0, 0];
    over1s[name] = allB - allA - (fastB - fastA);
  }
  return { retryLater, grpcCodes: grown(a.grpcCodes, b.grpcCodes), over1s, loopLagMaxMs: b.loopLagMaxMs };
}

/**
 * The 503s of a chunk by cause: the core's RETRY_LATER codes, and the gateway's calls that ended
 * DEADLINE_EXCEEDED or UNAVAILABLE. CALLER_CANCELLED is the core seeing the gateway's deadline
 * pass, so it is shown but already counted in DEADLINE_EXCEEDED.
 */
function retryCauses(m: Measured, t: ChunkTallies): Record<string, number> {
  const causes: Record<string, number> = { ...t.retryLater };
  for (const code of ['DEADLINE_EXCEEDED', 'UNAVAILABLE']) {
    const n = t.grpcCodes[code] ?? 0;
    if (n > 0) causes[`gateway ${code}`] = n;
  }
  const replies503 = Object.values(m.run.statusByKind).reduce((n, byStatus) => n + (byStatus['503'] ?? 0), 0);
  const explained = Object.entries(causes)
    .filter(([code]) => code !== 'CALLER_CANCELLED')
    .reduce((n, [, v]) => n + v, 0);
  if (replies503 > explained) causes['unexplained'] = replies503 - explained;
  return causes;
}

/** "2 / 1 / 0 / 1": SLOW_HISTOGRAMS' observations over 1 s in a chunk. */
const over1s = (c: SoakChunk): string =>
  c.over1s
    ? Object.keys(SLOW_HISTOGRAMS)
        .map((k) => c.over1s?.[k] ?? 0)
        .join(' / ')
    : '–';

async function coreHeapUsedMb(metricsUrl: string): Promise<number | undefined> {
  const text = await fetch(metricsUrl, { signal: AbortSignal.timeout(3_000) })
    .then((r) => r.text())
    .catch(() => '');
  const v = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.eE+]+)$/m.exec(text)?.[1];
  return v === undefined ? undefined : round(Number(v) / 2 ** 20, 1);
}

/**
 * Sends `target` notifications in chunks that alternate a duplicate storm and the mix (paid,
 * forged, wrong amount), each through the whole stack at full speed, and reads memory after
 * each chunk. Fresh orders every chunk, so the database keeps growing as it would in production.
 */
async function soakRun(
  target: number,
  runChunk: (
    i: number,
    workload: 'duplicates' | 'mix',
  ) => Promise<{
    m: Measured;
    count: number;
    rssMb: Record<string, number>;
    coreHeapUsedMb: number | undefined;
    core: ChunkTallies;
    server: ServerEvents;
    commits: CommitProbeSummary;
  }>,
): Promise<SoakResult> {
  const chunks: SoakChunk[] = [];
  let cumulative = 0;
  for (let i = 0; cumulative < target; i++) {
    const workload = i % 2 === 0 ? 'duplicates' : 'mix';
    const { m, count, rssMb, coreHeapUsedMb: heap, core, server, commits } = await runChunk(i, workload);
    cumulative += m.run.completed;
    const causes = retryCauses(m, core);
    chunks.push({
      workload,
      notifications: m.run.completed,
      cumulative,
      rps: round(m.run.rps),
      p99Ms: m.latency.p99Ms,
      unexpected: m.unexpected,
      unexpectedDetail: m.unexpectedDetail,
      unexpectedReplies: m.unexpectedReplies,
      coreCodes: m.counters?.coreCodes,
      gatewayGrpcCodes: m.counters?.gatewayGrpcCodes,
      maintenance: m.counters?.maintenance,
      rssMb,
      coreHeapUsedMb: heap,
      exactlyOnce: m.check?.['exactlyOnce'] === undefined ? undefined : m.check['exactlyOnce'] === true,
      retryCauses: causes,
      over1s: core.over1s,
      loopLagMaxMs: core.loopLagMaxMs,
      server,
      commits,
    });
    log(
      `soak: ${cumulative} of ${target} notifications; RSS core ${rssMb['core']} MB, gateway ${rssMb['gateway']} MB, core heap ${heap ?? '?'} MB`,
    );
    log(
      `soak chunk ${i + 1}: 503 causes ${JSON.stringify(causes)}; over 1 s ${JSON.stringify(core.over1s)}; event-loop stall max ${JSON.stringify(core.loopLagMaxMs)} ms; ` +
        `commit probe p50 ${commits.p50Ms} ms, p99 ${commits.p99Ms} ms, max ${commits.maxMs} ms${commits.maxAt ? ` at ${new Date(commits.maxAt).toISOString()}` : ''}, over 1 s ${commits.over1s}; ` +
        `slow statements ${server.slowStatements.count} (max ${server.slowStatements.maxMs} ms); checkpoints ${JSON.stringify(server.checkpoints.map((c) => ({ ...c, at: new Date(c.at).toISOString() })))}`,
    );
    if (count === 0 || m.run.completed === 0) throw new Error(`soak chunk ${i + 1} sent nothing`);
  }
  const settled = chunks.slice(Math.floor(chunks.length / 4));
  const trends: Record<string, Trend> = {};
  for (const name of ['core', 'gateway']) {
    trends[`${name} RSS`] = linearTrend(settled.map((c) => ({ x: c.cumulative, y: c.rssMb[name] ?? 0 })));
  }
  const heaps = settled.filter((c) => c.coreHeapUsedMb !== undefined);
  if (heaps.length > 0)
    trends['core heap used'] = linearTrend(heaps.map((c) => ({ x: c.cumulative, y: c.coreHeapUsedMb ?? 0 })));
  for (const [name, t] of Object.entries(trends)) {
    log(
      `soak trend ${name}: ${round(t.slopeMbPer100k, 2)} MB per 100k notifications (${t.firstMb} -> ${t.lastMb} MB, min ${t.minMb}, max ${t.maxMb})`,
    );
  }
  return { target, chunks, trends };
}

// ---------------------------------------------------------------------------------------------
// Correctness: every acknowledged order is PAID, and each PAID order has exactly one ORDER_PAID event.

async function checkScenario(
  db: Client,
  prefix: string,
  ackedOrders: number,
): Promise<Record<string, number | string | boolean>> {
  const like = `${prefix}%`;
  const out: Record<string, number | string | boolean> = { ackedOrders };
  try {
    const o = await db.query<{ paid: string }>(
      "select count(*) filter (where status = 'PAID') as paid from orders where out_trade_no like $1",
      [like],
    );
    out['paidOrders'] = Number(o.rows[0]?.paid ?? 0);
    const e = await db.query<{ n: string; orders: string }>(
      "select count(*) as n, count(distinct out_trade_no) as orders from payment_events where type = 'ORDER_PAID' and out_trade_no like $1",
      [like],
    );
    out['orderPaidEvents'] = Number(e.rows[0]?.n ?? 0);
    out['exactlyOnce'] =
      out['orderPaidEvents'] === out['paidOrders'] && Number(e.rows[0]?.orders ?? 0) === out['paidOrders'];
    out['allAckedPaid'] = Number(out['paidOrders']) >= ackedOrders;
    const a = await db.query<{ n: string }>('select count(*) as n from anomalies where out_trade_no like $1', [like]);
    out['anomalies'] = Number(a.rows[0]?.n ?? 0);
  } catch (e) {
    out['error'] = e instanceof Error ? e.message : String(e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Trace

async function traceNotifications(
  settings: Settings,
  loadgen: LoadgenProcess,
  stack: Stack,
  pg: DurablePostgres,
  db: Client,
  redis: Redis,
  orders: OrderFactory,
): Promise<{ batches: TraceBatch[]; paidSequence: string[]; template: LoggedStatement[]; templateTradeNo: string }> {
  const n = settings.traceN;
  await orders.create('bTp', n);
  await orders.create('bTw', n);
  await db.query("alter system set log_statement = 'all'");
  await db.query('select pg_reload_conf()');
  await sleep(500);
  const batches: TraceBatch[] = [];
  let paidStatements: LoggedStatement[] = [];
  try {
    const plan: Array<{ name: string; workload?: WorkloadSpec }> = [
      { name: 'paid (first delivery)', workload: { type: 'unique', prefix: 'bTp', orders: n, seed: 5 } },
      { name: 'duplicate (order already PAID)' },
      { name: 'forged signature', workload: { type: 'forged', prefix: 'bTf', orders: n, seed: 6 } },
      { name: 'wrong amount', workload: { type: 'wrong_amount', prefix: 'bTw', orders: n, seed: 7 } },
    ];
    for (const step of plan) {
      if (step.workload) await loadgen.prepare(stack.target, step.workload);
      const offset = fs.statSync(pg.logFile).size;
      const before = await readCounters({ redis, pg: db });
      const r = await loadgen.run(
        { mode: 'closed', connections: 1, warmupMs: 0, durationMs: 120_000, label: `trace ${step.name}` },
        () => undefined,
      );
      await sleep(300);
      const after = await readCounters({ redis, pg: db });
      const text = readFrom(pg.logFile, offset);
      const statements = parseStatementLog(text).filter((s) => s.app !== 'bench');
      if (step.name.startsWith('paid')) paidStatements = statements;
      const counts: Record<string, number> = {};
      for (const s of statements) counts[statementKind(s.sql)] = (counts[statementKind(s.sql)] ?? 0) + 1;
      const kinds = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 2)]));
      const delta = counterDelta(before, after);
      const per = (v: number): number => round(v / n, 2);
      batches.push({
        name: step.name,
        n: r.completed,
        statementsPerNotification: per(statements.length),
        statementKinds: kinds,
        redisPerNotification: Object.fromEntries(Object.entries(delta.redis).map(([k, v]) => [k, per(v)])),
        // Our own two counter probes do not write; the delta is the core's.
        writeXactsPerNotification: per(delta.writeXacts),
        walBytesPerNotification: Math.round(delta.walBytes / n),
      });
      log(
        `trace ${step.name}: ${per(statements.length)} SQL statements, ${JSON.stringify(batches[batches.length - 1]?.redisPerNotification)} Redis calls per notification`,
      );
    }
  } finally {
    await db.query('alter system reset log_statement');
    await db.query('select pg_reload_conf()');
  }
  const templateTradeNo = tradeNo('bTp', 0);
  const template = statementsOf(paidStatements, templateTradeNo);
  return { batches, paidSequence: template.map((s) => s.sql), template, templateTradeNo };
}

function readFrom(file: string, offset: number): string {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// pgbench

async function pgbenchCeiling(
  settings: Settings,
  pg: DurablePostgres,
  db: Client,
  name: string,
  prefix: string,
  template: LoggedStatement[],
  templateTradeNo: string,
  capacity: number,
  orders: OrderFactory,
  outDir: string,
  pgGroup: ProcessGroup,
): Promise<PgbenchRun> {
  const clients = settings.pgbenchClients;
  const perClient = Math.ceil((Math.max(8000, capacity * 10) * settings.pgbenchS) / clients) + 500;
  for (let c = 0; c < clients; c++) await orders.create(prefix, perClient, c * PGBENCH_STRIDE + 1);
  const script = pgbenchScript(template, templateTradeNo, prefix);
  const scriptFile = path.join(pg.dir, `notify-${prefix}.pgbench`);
  fs.writeFileSync(scriptFile, script);
  const shown = path.join(outDir, `pgbench-${prefix}.sql`);
  fs.writeFileSync(
    shown,
    `-- pgbench script (${name}); raw XML bodies elided\n${script.replace(/'<xml>[^']*'/g, "'<xml>…</xml>'")}`,
  );
  await db.query('checkpoint');
  const groups: ProcessGroup[] = [pgGroup];
  let a: CpuSnapshot | undefined;
  let reapedBefore = 0;
  log(`pgbench ${name}: ${clients} clients, ${settings.pgbenchS} s, ${template.length} statements per transaction`);
  const r = await runPgbench({
    bindir: pg.bindir,
    port: pg.port,
    database: 'payment_callback',
    scriptFile,
    clients,
    threads: 2,
    seconds: settings.pgbenchS,
    onStarted: () => {
      a = cpuSnapshot(groups);
      reapedBefore = reapedChildrenSeconds();
    },
  });
  // Let the backends of pgbench's connections exit and be reaped: their CPU then shows in the
  // postmaster's cutime/cstime.
  await sleep(1000);
  const b = cpuSnapshot(groups);
  // pgbench is our child: once reaped, its CPU shows in our own cutime/cstime.
  const cpuS: Record<string, number> = {
    ...(a ? cpuSecondsBetween(a, b) : {}),
    pgbench: round(reapedChildrenSeconds() - reapedBefore, 2),
  };
  const paid = await db.query<{ n: string }>(
    "select count(*) as n from orders where out_trade_no like $1 and status = 'PAID'",
    [`${prefix}%`],
  );
  const paidRows = Number(paid.rows[0]?.n ?? 0);
  log(
    `pgbench ${name}: ${round(r.tps)} tps, latency ${r.latencyAvgMs} ms, ${paidRows} of ${r.transactions} transactions paid a fresh order`,
  );
  return {
    ...r,
    name,
    output: r.output.slice(-4000),
    cpuS,
    cpuMsPerTx: round(((cpuS['postgres'] ?? 0) * 1000) / Math.max(1, r.transactions), 3),
    paidRows,
    script: path.relative(outDir, shown),
  };
}

// ---------------------------------------------------------------------------------------------
// Trivial core

async function waitForLine(proc: ManagedProcess, re: RegExp): Promise<RegExpExecArray> {
  let m: RegExpExecArray | null = null;
  await waitUntil(
    `${proc.name} to start`,
    30_000,
    () => {
      if (!proc.running) throw new Error(proc.describe());
      m = re.exec(proc.output());
      return m !== null;
    },
    { details: () => proc.describe() },
  );
  if (!m) throw new Error('unreachable');
  return m;
}

async function trivialCeiling(
  settings: Settings,
  teardown: Teardown,
  loadgen: LoadgenProcess,
  capacity: number,
): Promise<Measured> {
  const proc = await ManagedProcess.spawn('trivial core', process.execPath, [path.join(__dirname, 'trivial-core.js')], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TRIVIAL_CORE_LISTEN: '127.0.0.1:0' },
  });
  const stopCore = teardown.add('trivial core', () => proc.terminate('SIGTERM', 10_000));
  const port = Number((await waitForLine(proc, /trivial core listening on (\d+)/))[1]);
  const gateway = await startGatewayProcess(port, { LOG_LEVEL: 'info' });
  const stopGateway = teardown.add('gateway (trivial)', () => gateway.stop());
  const { nginx, target, dispose } = await startNginxFor(teardown, gateway.port);
  try {
    const n = Math.min(200_000, Math.ceil(Math.max(capacity * 6, 3000) * 4));
    await loadgen.prepare(target, { type: 'unique', prefix: 'bX', orders: n, seed: 20 });
    return await measure(
      loadgen,
      // Fresh processes: the run's first warmupS warms their JIT (orders may repeat: this core keeps nothing).
      {
        ...closedSpec(settings, 'trivial core (nginx -> gateway -> gRPC PAID)', settings.trivialS, settings.warmupS),
        cycle: true,
      },
      {
        groups: [
          { name: 'core', roots: () => [proc.pid] },
          { name: 'gateway', roots: () => [gateway.process?.pid] },
          { name: 'nginx', roots: () => [nginx.pid] },
          { name: 'loadgen', roots: () => [loadgen.pid] },
        ],
        rss: () => ({ core: proc.pid, gateway: gateway.process?.pid }),
        sut: ['core', 'gateway', 'nginx'],
      },
    );
  } finally {
    await dispose();
    await stopGateway();
    await stopCore();
  }
}

function closedSpec(settings: Settings, label: string, durationS: number, warmupS = 0): RunSpec {
  return {
    mode: 'closed',
    connections: settings.connections,
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    label,
  };
}

// ---------------------------------------------------------------------------------------------
// Monolith

async function monolithBaseline(
  settings: Settings,
  teardown: Teardown,
  loadgen: LoadgenProcess,
  databaseUrl: string,
  redisServer: RedisServer,
  orders: OrderFactory,
  capacity: number,
  counters: CounterSources,
  pgGroup: ProcessGroup,
  redisGroup: ProcessGroup,
  check: (prefix: string, m: Measured) => Promise<void>,
  prefix: string,
): Promise<Measured> {
  const proc = await ManagedProcess.spawn('monolith', process.execPath, [path.join(__dirname, 'monolith.js')], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisServer.url,
      MERCHANTS_JSON: TEST_MERCHANTS_JSON,
      MONOLITH_LISTEN: '127.0.0.1:0',
      LOG_LEVEL: 'info',
      AUTH_DISABLED: 'true',
    },
  });
  const stop = teardown.add('monolith', () => proc.terminate('SIGTERM', 10_000));
  const port = Number((await waitForLine(proc, /monolith listening on (\d+)/))[1]);
  const { nginx, target, dispose } = await startNginxFor(teardown, port);
  try {
    const n = Math.ceil(capacity * 3 * (settings.warmupS + settings.monolithS)) + 1000;
    await orders.create(prefix, n);
    const observed: Observed = {
      groups: [
        { name: 'monolith', roots: () => [proc.pid] },
        { name: 'nginx', roots: () => [nginx.pid] },
        pgGroup,
        redisGroup,
        { name: 'loadgen', roots: () => [loadgen.pid] },
      ],
      rss: () => ({ monolith: proc.pid }),
      counters,
      sut: ['monolith', 'nginx', 'postgres', 'redis'],
    };
    // A fresh process: the run's first warmupS (same scenario, its own orders) warms its JIT.
    await loadgen.prepare(target, { type: 'unique', prefix, orders: n, seed: 31 });
    const m = await measure(
      loadgen,
      closedSpec(settings, 'monolith (unique)', settings.monolithS, settings.warmupS),
      observed,
    );
    await check(prefix, m);
    return m;
  } finally {
    await dispose();
    await stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Profiles

async function profileRun(
  settings: Settings,
  teardown: Teardown,
  loadgen: LoadgenProcess,
  databaseUrl: string,
  redisUrl: string,
  orders: OrderFactory,
  capacity: number,
  outDir: string,
): Promise<Record<string, ProfileSummary>> {
  const dirs = { core: path.join(outDir, 'profiles', 'core'), gateway: path.join(outDir, 'profiles', 'gateway') };
  for (const d of Object.values(dirs)) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
  }
  const stack = await startStack(teardown, databaseUrl, redisUrl, dirs);
  let m: Measured | undefined;
  try {
    const n = Math.ceil(capacity * 1.5 * (settings.profileS + 2)) + 500;
    await orders.create('bP', n);
    await loadgen.prepare(stack.target, { type: 'unique', prefix: 'bP', orders: n, seed: 40 });
    m = await measure(loadgen, closedSpec(settings, 'profiled unique run', settings.profileS, 2), {
      groups: [
        { name: 'core', roots: () => [stack.core.pid()] },
        { name: 'gateway', roots: () => [stack.gateway.pid()] },
      ],
      rss: () => ({}),
      sut: ['core', 'gateway'],
    });
  } finally {
    await stack.stop();
  }
  const summaries: Record<string, ProfileSummary> = {};
  for (const [name, dir] of Object.entries(dirs)) {
    const file = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(dir, f))[0];
    if (!file) {
      log(`no CPU profile written for ${name}`);
      continue;
    }
    // Only the measured window: no start-up, warm-up or shutdown.
    const startedAt = name === 'core' ? stack.core.startedAt : stack.gateway.startedAt;
    const window = { fromS: (m.windowAt[0] - startedAt) / 1000, toS: (m.windowAt[1] - startedAt) / 1000 };
    const summary = {
      ...summarizeProfile(file, 20, window),
      requests: m.run.completed,
      procCpuMsPerReq: m.cpuMsPerReq[name],
    };
    summaries[name] = summary;
    log(`profile of ${name}: ${path.relative(ROOT, file)}`);
  }
  return summaries;
}

// ---------------------------------------------------------------------------------------------
// Outputs

function writeOutputs(results: Results, outDir: string): void {
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const unique = results.scenarios['unique'];
  if (results.sweep.length > 0 && unique) {
    const svg = throughputLatencySvg(
      'payment-callback: unique paid notifications through nginx -> gateway -> core',
      results.sweep.map((m) => ({
        offered: m.run.offeredRate ?? 0,
        achieved: m.run.rps,
        p50Ms: m.latency.p50Ms,
        p99Ms: m.latency.p99Ms,
        otherLoad: m.foreignCores,
      })),
      unique.run.rps,
      `${results.machine['nproc']} x ${results.machine['cpuModel']}, PostgreSQL fsync=on synchronous_commit=on; ${results.settings.name} run ${results.startedAt.slice(0, 10)}`,
    );
    fs.writeFileSync(path.join(outDir, 'throughput-latency.svg'), svg);
  }
  fs.writeFileSync(path.join(outDir, 'report.md'), renderReport(results));
  for (const [name, summary] of Object.entries(results.profiles)) {
    fs.writeFileSync(path.join(outDir, `profile-${name}.txt`), `${formatProfile(name, summary)}\n`);
  }
}

/** The runs of a results.json; one from the single-run fields when it predates --runs. */
function runsOf(r: Results): RunSet[] {
  if (r.runs && r.runs.length > 0) return r.runs;
  const one: RunSet = { run: 1, order: [], scenarios: r.scenarios };
  if (r.trivial) one.trivial = r.trivial;
  if (r.monolith) one.monolith = r.monolith;
  return [one];
}

/** Every measured window of a run, with its label. */
function windowsOf(set: RunSet): Array<[string, Measured]> {
  const out: Array<[string, Measured]> = Object.entries(set.scenarios).map(([, m]) => [m.label, m]);
  for (const m of [set.trivial, set.monolith, set.peer]) if (m) out.push([m.label, m]);
  // In the order they ran (runOrder), which differs from run to run.
  return out.sort((a, b) => a[1].windowAt[0] - b[1].windowAt[0]);
}

/** The run's figures the repeated-runs and targets tables are made of. */
function runFigures(r: Results, set: RunSet) {
  const u = set.scenarios['unique'];
  const d = set.scenarios['duplicates'];
  const peer = set.peer ?? r.peer;
  // Before uniqueOpen80 existed, the sweep's 80% point was the unique open-loop figure.
  const u80 =
    set.scenarios['uniqueOpen80'] ??
    (set.run === 1 && !r.runs ? r.sweep.find((m) => m.label.startsWith('open loop 80%')) : undefined);
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  let status503 = 0;
  for (const [, m] of windowsOf(set))
    for (const byStatus of Object.values(m.run.statusByKind)) status503 += byStatus['503'] ?? 0;
  return {
    u,
    d,
    peer,
    uniqueRps: u?.run.rps,
    stormRps: d?.run.rps,
    stormP99At80: set.scenarios['duplicatesOpen80']?.latency.p99Ms,
    uniqueP99At80: u80?.latency.p99Ms,
    mixRps: set.scenarios['mix']?.run.rps,
    stackCpu: u?.cpuMsPerReq['total'],
    gatewayCpu: u?.cpuMsPerReq['gateway'],
    peerCpu: peer?.cpuMsPerReq['total'],
    stormOverUnique: ratio(d?.run.rps, u?.run.rps),
    uniqueOverPeer: ratio(u?.run.rps, peer?.run.rps),
    uniqueOverMonolith: ratio(u?.run.rps, set.monolith?.run.rps),
    status503,
  };
}

/** "Repeated runs" and "Targets": every run side by side, and each target judged on all of them. */
function renderRepeated(r: Results): string[] {
  const L: string[] = [];
  const f = (v: number | undefined, d = 1): string => (v === undefined || Number.isNaN(v) ? '–' : String(round(v, d)));
  const runs = runsOf(r);
  const figs = runs.map((set) => runFigures(r, set));
  if (runs.length > 1 || r.runs) {
    L.push('## Repeated runs', '');
    L.push(
      `${runs.length} run${runs.length > 1 ? 's' : ''} of the scenarios, the trivial core and the monolith in one invocation, in alternating order ` +
        "(odd runs forward, even runs reversed, each pair starting one item later). Open loop at 80%: of that run's closed-loop rate. " +
        `${r.peer && !runs.some((x) => x.peer) ? 'The independent monolith is measured once, in its own phase, and stands for every run. ' : ''}` +
        "The tables above are run 1's.",
      '',
      '| run | order | unique req/s | storm req/s | storm p99 ms, open 80% | unique p99 ms, open 80% | mix req/s | trivial core req/s | our core without the hop req/s | independent monolith req/s | storm / unique | unique / our core without the hop | unique / independent monolith |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    runs.forEach((set, i) => {
      const g = figs[i];
      if (!g) return;
      L.push(
        `| ${set.run} | ${set.order.join(', ') || '–'} | ${f(g.uniqueRps, 0)} | ${f(g.stormRps, 0)} | ${f(g.stormP99At80)} | ${f(g.uniqueP99At80)} | ` +
          `${f(g.mixRps, 0)} | ${f(set.trivial?.run.rps, 0)} | ${f(set.monolith?.run.rps, 0)} | ${f(g.peer?.run.rps, 0)} | ` +
          `${f(g.stormOverUnique, 2)} | ${f(g.uniqueOverMonolith, 2)} | ${f(g.uniqueOverPeer, 2)} |`,
      );
    });
    L.push(
      '',
      '| run | CPU ms/req, stack (unique) | gateway | core | trivial core stack | our core without the hop | independent monolith | stack / independent monolith |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    runs.forEach((set, i) => {
      const g = figs[i];
      if (!g) return;
      L.push(
        `| ${set.run} | ${f(g.stackCpu, 2)} | ${f(g.gatewayCpu, 2)} | ${f(g.u?.cpuMsPerReq['core'], 2)} | ${f(set.trivial?.cpuMsPerReq['total'], 2)} | ` +
          `${f(set.monolith?.cpuMsPerReq['total'], 2)} | ${f(g.peerCpu, 2)} | ${f(g.stackCpu !== undefined && g.peerCpu ? g.stackCpu / g.peerCpu : undefined, 2)} |`,
      );
    });
    L.push('');
  }

  type Fig = ReturnType<typeof runFigures>;
  const targets: Array<{ name: string; show: (g: Fig) => string | undefined; met: (g: Fig) => boolean | undefined }> = [
    {
      name: 'unique ≥ 1.0 × independent monolith',
      show: (g) => (g.uniqueOverPeer === undefined ? undefined : f(g.uniqueOverPeer, 2)),
      met: (g) => (g.uniqueOverPeer === undefined ? undefined : g.uniqueOverPeer >= 1),
    },
    {
      name: 'CPU per request, stack ≤ independent monolith',
      show: (g) =>
        g.stackCpu === undefined || g.peerCpu === undefined
          ? undefined
          : `${f(g.stackCpu, 2)} vs ${f(g.peerCpu, 2)} ms`,
      met: (g) => (g.stackCpu === undefined || g.peerCpu === undefined ? undefined : g.stackCpu <= g.peerCpu),
    },
    {
      name: 'gateway ≤ 0.35 ms CPU per notification (unique)',
      show: (g) => (g.gatewayCpu === undefined ? undefined : `${f(g.gatewayCpu, 2)} ms`),
      met: (g) => (g.gatewayCpu === undefined ? undefined : g.gatewayCpu <= 0.35),
    },
    {
      name: 'storm ≥ 2 × unique',
      show: (g) => (g.stormOverUnique === undefined ? undefined : f(g.stormOverUnique, 2)),
      met: (g) => (g.stormOverUnique === undefined ? undefined : g.stormOverUnique >= 2),
    },
    {
      name: 'storm p99 < 50 ms, open loop at 80%',
      show: (g) => (g.stormP99At80 === undefined ? undefined : `${f(g.stormP99At80)} ms`),
      met: (g) => (g.stormP99At80 === undefined ? undefined : g.stormP99At80 < 50),
    },
    {
      name: 'unique p99 < 100 ms, open loop at 80%',
      show: (g) => (g.uniqueP99At80 === undefined ? undefined : `${f(g.uniqueP99At80)} ms`),
      met: (g) => (g.uniqueP99At80 === undefined ? undefined : g.uniqueP99At80 < 100),
    },
    {
      name: 'zero 503 replies (every window of the run)',
      show: (g) => String(g.status503),
      met: (g) => g.status503 === 0,
    },
  ];
  L.push('## Targets', '');
  L.push(
    `Each target judged on every run (${runs.length}); met only when met in all of them. – : not measured in this invocation.`,
    '',
    `| target | ${runs.map((x) => `run ${x.run}`).join(' | ')} | verdict |`,
    `| --- | ${runs.map(() => '---:').join(' | ')} | --- |`,
  );
  for (const t of targets) {
    const verdicts = figs.map((g) => t.met(g));
    const judged = verdicts.filter((v): v is boolean => v !== undefined);
    const metIn = judged.filter((v) => v).length;
    const verdict =
      judged.length === 0
        ? '–'
        : metIn === figs.length
          ? figs.length === 1
            ? 'met'
            : `met in all ${figs.length}`
          : metIn === judged.length
            ? `met in ${metIn} of ${figs.length} (${figs.length - judged.length} not measured)`
            : figs.length === 1
              ? '**not met**'
              : `**not met** (met in ${metIn} of ${figs.length})`;
    L.push(`| ${t.name} | ${figs.map((g) => t.show(g) ?? '–').join(' | ')} | ${verdict} |`);
  }
  L.push('');
  return L;
}

/** Per window: the unexpected replies' sentences, and the core's and the gateway's codes meanwhile. */
function renderWhy(r: Results): string[] {
  const runs = runsOf(r);
  const windows: Array<[string, Measured]> = [];
  if (r.warmup) windows.push([r.warmup.label, r.warmup]);
  for (const set of runs)
    for (const [label, m] of windowsOf(set)) windows.push([runs.length > 1 ? `run ${set.run}: ${label}` : label, m]);
  if (r.peer && !runs.some((x) => x.peer)) windows.push([r.peer.label, r.peer]);
  for (const m of r.sweep) windows.push([m.label, m]);
  const L: string[] = [];
  if (windows.length > 0) {
    L.push('## Unexpected replies, and the codes behind them', '');
    L.push(
      'Per window: the replies whose status was not the one expected for their kind, with the sentence the reply carried ' +
        "(return_msg), then the core's decisions (payment_callback_notifications_total by code, delta over the window) and " +
        "the gateway's calls to the core (payment_callback_gateway_core_call_seconds_count by gRPC status). A 503 the core " +
        "decided shows as RETRY_LATER's code (LOCK_BUSY, STORE_UNAVAILABLE, ...); one it did not decide, as the gateway's " +
        'DEADLINE_EXCEEDED or UNAVAILABLE. The counters are read when the window opens and closes, so a request in flight ' +
        'then may be counted in the neighbouring window. "not measured": no metrics endpoint (the monoliths, the trivial core).',
      '',
      '| window | unexpected | unexpected replies | core codes in window | gateway→core gRPC codes |',
      '| --- | ---: | --- | --- | --- |',
    );
    for (const [label, m] of windows) {
      const w = whyParts(whyOf(m));
      L.push(`| ${label} | ${m.unexpected} | ${w.replies} | ${w.core} | ${w.gateway} |`);
    }
    L.push('');
  }
  if (r.soak?.chunks.some((c) => c.coreCodes || c.unexpectedReplies)) {
    L.push(
      '### The long run, per chunk',
      '',
      '| chunk | workload | unexpected | unexpected replies | core codes in chunk | gateway→core gRPC codes |',
      '| ---: | --- | ---: | --- | --- | --- |',
    );
    r.soak.chunks.forEach((c, i) => {
      const w = whyParts(c);
      L.push(`| ${i + 1} | ${c.workload} | ${c.unexpected} | ${w.replies} | ${w.core} | ${w.gateway} |`);
    });
    L.push('');
  }
  return L;
}

function renderReport(r: Results): string {
  const L: string[] = [];
  const f = (v: number | undefined, d = 1): string => (v === undefined || Number.isNaN(v) ? '–' : String(round(v, d)));
  L.push(`# Benchmark report (${r.settings.name} run, ${r.startedAt})`, '');
  L.push(
    `Machine: ${r.machine['nproc']} x ${r.machine['cpuModel']}, ${r.machine['ramGiB']} GiB RAM, Linux ${r.machine['kernel']}, Node ${r.machine['node']}; ` +
      `${r.machine['postgres']}, ${r.machine['redis']}, ${r.machine['nginx']}. fdatasync on the data directory's file system: ` +
      `median ${r.machine['fdatasyncMedianMs']} ms, p99 ${r.machine['fdatasyncP99Ms']} ms.`,
    '',
  );
  L.push(
    `PostgreSQL: ${Object.entries(r.postgresSettings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}.`,
    '',
  );
  L.push(
    `Code: commit ${r.git.commit}${r.git.dirty ? ' plus uncommitted changes in src/, gateway/ or proto/' : ''}. Duration ${r.durationS ?? '?'} s.`,
    '',
  );
  if (r.errors.length > 0) L.push('**Errors:**', '', ...r.errors.map((e) => `    ${e.split('\n')[0] ?? ''}`), '');

  const rows: Array<[string, Measured | undefined]> = [
    ['unique paid', r.scenarios['unique']],
    [r.scenarios['uniqueOpen80']?.label ?? 'unique, open loop at 80%', r.scenarios['uniqueOpen80']],
    ['duplicate storm', r.scenarios['duplicates']],
    [r.scenarios['duplicatesOpen80']?.label ?? 'duplicate storm, open loop at 80%', r.scenarios['duplicatesOpen80']],
    ['mix (10% forged, 5% wrong amount)', r.scenarios['mix']],
    ['trivial core (HTTP→gRPC ceiling)', r.trivial],
    ['our core without the hop (unique)', r.monolith],
    ['independent monolith (unique)', r.peer],
  ];
  L.push('## Closed loop', '');
  L.push(
    `${r.settings.connections} keep-alive connections to nginx, ${r.settings.mainS} s windows, each after a ${r.settings.warmupS} s warm-up of the same scenario on orders of its own.`,
    '',
  );
  L.push(
    '| scenario | req/s | p50 ms | p99 ms | p99.9 ms | CPU ms/req | core | gateway | nginx | postgres | redis | kernel share | peak RSS MB | unexpected | other load |',
  );
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const [name, m] of rows) {
    if (!m) continue;
    const c = m.cpuMsPerReq;
    L.push(
      `| ${name} | ${f(m.run.rps, 0)} | ${f(m.latency.p50Ms)} | ${f(m.latency.p99Ms)} | ${f(m.latency.p999Ms)} | ${f(c['total'], 2)} | ` +
        `${f(c['core'] ?? c['monolith'] ?? c[PEER_GROUP], 2)} | ${f(c['gateway'], 2)} | ${f(c['nginx'], 2)} | ${f(c['postgres'], 2)} | ${f(c['redis'], 2)} | ` +
        `${Math.round(m.sysShare * 100)}% | ${Object.entries(m.peakRssMb)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} | ${m.unexpected} | ${m.foreignCores} |`,
    );
  }
  L.push(
    '',
    'For the two monoliths, the "core" column is the monolith process. Kernel share: stime / (utime + stime) of the processes under test. ' +
      'Other load: cores kept busy during the window by processes outside the benchmark (the machine is shared); before each run the bench ' +
      'waits (within a budget) for a quiet second.',
    '',
  );
  L.push(
    'CPU ms/req = (utime+stime of the processes under test over the window) / replies in the window; the load generator ' +
      'and the harness are not included: ' +
      rows
        .filter(([, m]) => m)
        .map(([n, m]) => `${n}: load generator ${m?.loadgenCpuS} s, harness ${m?.harnessCpuS} s`)
        .join('; ') +
      '.',
    '',
  );

  const u = r.scenarios['unique'];
  const d = r.scenarios['duplicates'];
  const p80 = r.sweep.find((m) => m.label.startsWith('open loop 80%'));
  L.push('## References and ratios', '');
  if (r.pgbench) {
    L.push(
      `pgbench (${r.pgbench.clients} clients, ${r.pgbench.seconds} s, the core's ${r.trace?.paidSequence.length ?? '?'} statements per paid notification, simple protocol): ` +
        `**${f(r.pgbench.tps, 0)} tps**, latency avg ${r.pgbench.latencyAvgMs} ms, postgres CPU ${r.pgbench.cpuMsPerTx} ms/tx ` +
        `(${r.pgbench.paidRows} of ${r.pgbench.transactions} transactions paid a fresh order; script: ${r.pgbench.script}).`,
      '',
    );
    for (const w of r.pgbenchWhatIf) {
      L.push(
        `pgbench ${w.name}: **${f(w.tps, 0)} tps**, latency avg ${w.latencyAvgMs} ms, postgres CPU ${w.cpuMsPerTx} ms/tx ` +
          `(${w.paidRows} of ${w.transactions} paid a fresh order; script: ${w.script}).`,
        '',
      );
    }
  }
  L.push('| ratio | value |', '| --- | ---: |');
  if (u && r.pgbench) L.push(`| unique / pgbench ceiling | ${f(u.run.rps / r.pgbench.tps, 3)} |`);
  for (const w of r.pgbenchWhatIf) if (u) L.push(`| unique / pgbench ${w.name} | ${f(u.run.rps / w.tps, 3)} |`);
  if (u && r.monolith) L.push(`| unique / our core without the hop | ${f(u.run.rps / r.monolith.run.rps, 3)} |`);
  if (u && r.peer) L.push(`| unique / independent monolith | ${f(u.run.rps / r.peer.run.rps, 3)} |`);
  if (u && d) L.push(`| duplicates / unique | ${f(d.run.rps / u.run.rps, 3)} |`);
  if (u && r.trivial) L.push(`| unique / trivial-core ceiling | ${f(u.run.rps / r.trivial.run.rps, 3)} |`);
  if (u && r.monolith)
    L.push(
      `| CPU per request, stack / our core without the hop | ${f((u.cpuMsPerReq['total'] ?? 0) / (r.monolith.cpuMsPerReq['total'] ?? 1), 2)} |`,
    );
  if (u && r.peer)
    L.push(
      `| CPU per request, stack / independent monolith | ${f((u.cpuMsPerReq['total'] ?? 0) / (r.peer.cpuMsPerReq['total'] ?? 1), 2)} |`,
    );
  if (p80)
    L.push(`| p99 at ~80% of capacity (open loop, ${p80.run.offeredRate} req/s offered) | ${p80.latency.p99Ms} ms |`);
  const s80 = r.scenarios['duplicatesOpen80'];
  if (s80)
    L.push(
      `| duplicate storm p99 at ~80% of its capacity (open loop, ${s80.run.offeredRate} req/s offered) | ${s80.latency.p99Ms} ms |`,
    );
  L.push('');
  L.push(...renderRepeated(r));

  if (r.sweep.length > 0) {
    L.push('## Open loop (unique)', '');
    L.push(
      `Fixed arrival rate, up to ${r.settings.openConnections} connections, latency from the time each request was due; ${r.settings.sweepS} s per point.`,
      '',
    );
    L.push(
      '| offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | CPU ms/req | unexpected | never sent | other load |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const m of r.sweep) {
      L.push(
        `| ${m.run.offeredRate} | ${f(m.run.rps, 0)} | ${m.latency.p50Ms} | ${m.latency.p99Ms} | ${m.latency.p999Ms} | ${f(m.cpuMsPerReq['total'], 2)} | ${m.unexpected} | ${m.run.unsent} | ${m.foreignCores} |`,
      );
    }
    L.push('', '![throughput and p99 against offered load](throughput-latency.svg)', '');
  }

  if (r.trace) {
    L.push('## Per notification (trace: one request at a time, log_statement=all)', '');
    L.push(
      'Redis: EVALSHA is the round trip; exists/set (acquire) and get/del (release) run inside those Lua scripts.',
      '',
    );
    L.push(
      '| kind | SQL round trips | statements | Redis commands | write xacts | WAL bytes |',
      '| --- | ---: | --- | --- | ---: | ---: |',
    );
    for (const b of r.trace.batches) {
      L.push(
        `| ${b.name} | ${b.statementsPerNotification} | ${Object.entries(b.statementKinds)
          .map(([k, v]) => `${k} ×${v}`)
          .join(', ')} | ` +
          `${
            Object.entries(b.redisPerNotification)
              .map(([k, v]) => `${k} ×${v}`)
              .join(', ') || '0'
          } | ${b.writeXactsPerNotification} | ${b.walBytesPerNotification} |`,
      );
    }
    L.push('', 'The statements of one paid notification, in order:', '');
    r.trace.paidSequence.forEach((s, i) => L.push(`${i + 1}. \`${compactSql(s)}\``));
    L.push('');
  }

  const withCounters = [...rows, ...r.sweep.map((m) => [m.label, m] as [string, Measured])].filter(
    ([, m]) => m?.counters,
  );
  if (withCounters.length > 0) {
    L.push('## Per request under load (counter deltas over the window)', '');
    L.push(
      'PostgreSQL maintenance: autovacuum / autoanalyze runs and checkpoints completed inside the window (they compete for the same two cores).',
      '',
    );
    L.push(
      '| run | Redis cmds/req | write xacts/req | WAL bytes/req | core: handle ms | store ms | lock wait ms | GC ms (count) | PostgreSQL maintenance | p99 ms, end to end | p99 ms in the core, at most |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    );
    for (const [name, m] of withCounters) {
      if (!m?.counters) continue;
      const n = Math.max(1, m.run.completed);
      const h = m.counters.histograms;
      const mean = (k: string): string => (h[k] ? String(h[k].meanMs) : '–');
      L.push(
        `| ${name} | ${Object.entries(m.counters.redis)
          .map(([k, v]) => `${k} ${f(v / n, 2)}`)
          .join(', ')} | ${f(m.counters.writeXacts / n, 2)} | ` +
          `${f(m.counters.walBytes / n, 0)} | ${mean('payment_callback_handle_notify_seconds')} | ${mean('payment_callback_store_seconds')} | ${mean('payment_callback_lock_wait_seconds')} | ` +
          `${h['nodejs_gc_duration_seconds'] ? `${h['nodejs_gc_duration_seconds'].meanMs} (${h['nodejs_gc_duration_seconds'].count})` : '–'} | ` +
          `${
            m.counters.maintenance
              ? Object.entries(m.counters.maintenance)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')
              : '–'
          } | ${m.latency.p99Ms} | ${m.counters.coreHandleP99AtMostMs ?? '–'} |`,
      );
    }
    L.push('');
  }

  if (r.scaleOut) L.push(...renderScaleOut(r.scaleOut));

  if (r.soak) {
    const k = r.soak;
    L.push(
      `## Memory over a long run (${f(k.chunks.at(-1)?.cumulative ?? 0, 0)} notifications)`,
      '',
      `Chunks of about ${f(soakChunk(k.target), 0)} notifications, alternately a duplicate storm and the mix, closed loop at full speed, fresh orders each chunk; memory read after each chunk. ` +
        'Trend: least-squares line over the chunks after the first quarter (warm-up).',
      '',
      '| trend | MB per 100k notifications | predicted growth over the span, MB | first → last MB | min–max MB | chunks |',
      '| --- | ---: | ---: | --- | --- | ---: |',
    );
    for (const [name, t] of Object.entries(k.trends)) {
      L.push(
        `| ${name} | ${f(t.slopeMbPer100k, 2)} | ${f(t.growthOverSpanMb, 1)} | ${t.firstMb} → ${t.lastMb} | ${t.minMb}–${t.maxMb} | ${t.samples} |`,
      );
    }
    L.push(
      '',
      '| chunk | workload | notifications | after | req/s | p99 ms | unexpected | exactly once | PostgreSQL maintenance | core RSS MB | gateway RSS MB | core heap MB |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |',
    );
    k.chunks.forEach((c, i) =>
      L.push(
        `| ${i + 1} | ${c.workload} | ${f(c.notifications, 0)} | ${f(c.cumulative, 0)} | ${c.rps} | ${c.p99Ms} | ${c.unexpected}${
          c.unexpected > 0 && c.unexpectedDetail
            ? ` (${Object.entries(c.unexpectedDetail)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', ')})`
            : ''
        } | ${c.exactlyOnce ?? '–'} | ${
          c.maintenance
            ? Object.entries(c.maintenance)
                .filter(([, v]) => v > 0)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'none'
            : '–'
        } | ${c.rssMb['core'] ?? '–'} | ${c.rssMb['gateway'] ?? '–'} | ${c.coreHeapUsedMb ?? '–'} |`,
      ),
    );
    L.push('');
    if (k.chunks.some((c) => c.commits)) {
      const settings = Object.entries(r.postgresSettings)
        .filter(([name]) => /checkpoint|wal|bgwriter|autovacuum|flush/.test(name))
        .map(([name, v]) => `${name}=${v}`)
        .join(', ');
      L.push(
        '### 503s and what PostgreSQL did meanwhile',
        '',
        `503 causes: the core's RETRY_LATER codes and the gateway's failed calls to the core by gRPC status (their /metrics; "unexplained" if they do not add up). ` +
          `Commit probe: a one-row INSERT committed ten times a second beside the load. Checkpoints: those that completed in the chunk (log_checkpoints). PostgreSQL: ${settings}.`,
        '',
        '| chunk | 503s by cause | over 1 s: gateway call / core / lock wait / store | commit p50 / p99 / max ms | commits > 1 s | statements > 200 ms (max ms) | checkpoints completed: write s, sync s (longest file), buffers, WAL MB |',
        '| ---: | --- | ---: | ---: | ---: | ---: | --- |',
      );
      k.chunks.forEach((c, i) => {
        const causes = Object.entries(c.retryCauses ?? {})
          .map(([code, n]) => `${code} ${n}`)
          .join(', ');
        const checkpoints = (c.server?.checkpoints ?? [])
          .map(
            (p) =>
              `${p.reason}: ${p.writeS}, ${p.syncS} (${p.longestSyncS}), ${p.buffers}, ${f(p.distanceKb / 1024, 0)}`,
          )
          .join('; ');
        L.push(
          `| ${i + 1} | ${causes || '–'} | ${over1s(c)} | ${
            c.commits ? `${c.commits.p50Ms} / ${c.commits.p99Ms} / ${c.commits.maxMs}` : '–'
          } | ${c.commits?.over1s ?? '–'} | ${c.server ? `${c.server.slowStatements.count} (${c.server.slowStatements.maxMs})` : '–'} | ${checkpoints || '–'} |`,
        );
      });
      L.push('');
    }
  }

  L.push(...renderWhy(r));

  // Run 1's windows are `rows`; the later runs' are checked as well.
  const laterRuns = runsOf(r)
    .slice(1)
    .flatMap((set) => windowsOf(set).map(([label, m]) => [`run ${set.run}: ${label}`, m] as [string, Measured]));
  const checks = [...rows, ...laterRuns, ...r.sweep.map((m) => [m.label, m] as [string, Measured])].filter(
    ([, m]) => m?.check,
  );
  if (checks.length > 0) {
    L.push(
      '## Correctness after each run',
      '',
      '| run | acked orders | PAID orders | ORDER_PAID events | exactly once | anomalies |',
      '| --- | ---: | ---: | ---: | --- | ---: |',
    );
    for (const [name, m] of checks) {
      const c = m?.check ?? {};
      L.push(
        `| ${name} | ${c['ackedOrders']} | ${c['paidOrders']} | ${c['orderPaidEvents']} | ${c['exactlyOnce']} | ${c['anomalies']} |`,
      );
    }
    L.push('');
  }

  for (const p of [r.pgbench, ...r.pgbenchWhatIf]) {
    if (!p) continue;
    L.push(
      `## pgbench per-statement latency (ms), ${p.name}`,
      '',
      '```',
      ...p.statementMs.map((s) => `${s.ms.toFixed(3).padStart(8)}  ${s.statement}`),
      '```',
      '',
    );
  }
  for (const [name, s] of Object.entries(r.profiles)) {
    L.push(`## CPU profile: ${name}`, '', '```', formatProfile(name, s), '```', '');
  }
  return `${L.join('\n')}\n`;
}

void main();
