// The scale-out phase (`node dist/bench/run.js --phases=scaleout`, not part of the default run):
// the inputs of the sizing model in bench/README.md ("Scale-out").
//
// 1. One core replica alone on a CPU (taskset), everything else on the other: the core's CPU per
//    request without time-sharing a CPU with PostgreSQL, and how busy its CPU was. The same
//    processes unpinned give the reference on the same run.
// 2. Two core replicas (same PostgreSQL, same Redis for Redlock) behind one gateway that balances
//    round-robin over both: unique and duplicate storm, with run.ts's exactly-once check.
// 3. The gateway alone on a CPU in front of the trivial core: what one gateway sustains.
//
// On two CPUs nothing can give a process a whole CPU AND its neighbours enough CPU to saturate it:
// gateway, nginx, PostgreSQL and the load generator together cost more per request than the core.
// So "what one process sustains" is the request rate divided by how busy its own CPU was, a linear
// extrapolation, and is reported as such beside the measured rate.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import type { Client } from 'pg';
import { freePort } from '../harness/free-port';
import { ManagedProcess } from '../harness/managed-process';
import { startNginx, type NginxServer } from '../harness/nginx-server';
import { descendantPids, isAlive } from '../harness/process-tree';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../harness/service-processes';
import { TEST_MERCHANTS_JSON } from '../harness/sign-notification';
import { waitUntil } from '../harness/wait-until';
import type { CounterDelta, CounterSources } from './counters';
import type { LatencySummary } from './histogram';
import type { RunResult, RunSpec, Target } from './loadgen';
import type { LoadgenProcess } from './loadgen-client';
import { benchNginxConf } from './nginx-conf';
import type { ProcessGroup } from './proc-stats';
import type { WorkloadSpec } from './workload';

/** The part of run.ts's `Measured` this phase reads and stores (run.ts hands in its own, which has more). */
export interface ScaleOutMeasured {
  readonly label: string;
  readonly run: Omit<RunResult, 'histogram'>;
  readonly latency: LatencySummary;
  /** CPU seconds per process group inside the window. */
  readonly cpuS: Record<string, number>;
  readonly cpuMsPerReq: Record<string, number>;
  readonly foreignCores: number;
  /** Wall clock (ms since the epoch) of the window's start and end. */
  readonly windowAt: readonly [number, number];
  readonly unexpected: number;
  readonly counters: CounterDelta | undefined;
  check?: Record<string, number | string | boolean>;
}

/** What run.ts's `measure` observes: the same shape as its `Observed`. */
interface ScaleOutObserved {
  readonly groups: readonly ProcessGroup[];
  readonly rss: () => Record<string, number | undefined>;
  readonly counters?: CounterSources | undefined;
  readonly sut: readonly string[];
}

/** What run.ts lends the phase: its servers, load generator, measurement and check. */
export interface ScaleOutContext<M extends ScaleOutMeasured> {
  readonly quick: boolean;
  /** Closed-loop concurrency, as in the scenarios (32). */
  readonly connections: number;
  readonly teardown: { add(name: string, fn: () => Promise<unknown>): () => Promise<void> };
  readonly loadgen: LoadgenProcess;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly postgresPid: () => number | undefined;
  readonly redisPid: () => number | undefined;
  readonly counters: { readonly redis: Redis; readonly pg: Client };
  /** Closed-loop rate found so far (req/s): sizes the orders each run needs. */
  readonly capacity: number;
  createOrders(prefix: string, count: number): Promise<void>;
  measure(spec: RunSpec, observed: ScaleOutObserved): Promise<M>;
  /** run.ts's exactly-once check: sets `m.check` and records a failure in the results. */
  check(prefix: string, m: M): Promise<void>;
  log(message: string): void;
}

type ScaleOutRunKey = 'pinnedCore' | 'oneReplica' | 'twoReplicas' | 'twoReplicasDuplicates' | 'pinnedGateway';

/** A pinned run: the process alone on its CPU, how busy that CPU was, what it would sustain. */
interface Isolated {
  readonly process: string;
  readonly cpus: string;
  /** CPU seconds per second of the isolated process over the window (1 = its CPU saturated). */
  readonly busy: number;
  /** The same for everything else we ran (load generator included), on the other CPU(s). */
  readonly othersBusy: number;
  /** req/s ÷ busy: the rate at which the process would fill its CPU, e.g. 577 / 0.62 = 931. */
  readonly fullCpuRps: number;
}

interface ScaleOutRun {
  readonly key: ScaleOutRunKey;
  readonly title: string;
  /** CPUs each process was allowed, read back from /proc/<pid>/status; 'all' when unpinned. */
  readonly placement: Record<string, string>;
  readonly measured: ScaleOutMeasured;
  /**
   * How busy each CPU was over the window, every process on the machine counted (/proc/stat),
   * e.g. [0.98, 0.64]: on the pinned process's CPU, anything above its own share is other work.
   */
  readonly cpuBusy?: number[];
  readonly isolated?: Isolated;
}

export interface ScaleOutResult {
  readonly cpus: number;
  readonly runs: ScaleOutRun[];
  /** Runs left out and why (one CPU, no taskset). */
  readonly skipped: string[];
}

/** The gateway's default NOTIFY_PATH (gateway/config.ts). */
const NOTIFY_PATH = '/wxpay/notify';

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// CPU affinity

const ALL_CPUS = `0-${os.cpus().length - 1}`;

/**
 * Restricts `pid`, every thread of it and every descendant to `cpus` (`taskset -a -p -c`).
 * Threads and children created later inherit it, so pinning the postmaster also pins the
 * backends of connections opened afterwards. A thread that exits during the walk makes taskset
 * fail; that is retried.
 */
function pinTree(name: string, pid: number | undefined, cpus: string): void {
  if (pid === undefined) throw new Error(`cannot pin ${name}: it is not running`);
  for (const p of [pid, ...descendantPids(pid)]) {
    for (let attempt = 1; ; attempt++) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore', timeout: 5_000 });
        break;
      } catch (e) {
        if (!isAlive(p)) break;
        if (attempt >= 3)
          throw new Error(
            `taskset -a -p -c ${cpus} ${p} (${name}) failed: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
      }
    }
  }
}

/** Cpus_allowed_list of the main thread, e.g. "1"; 'all' when it is every CPU. */
function allowedCpus(pid: number | undefined): string {
  if (pid === undefined) return '?';
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? '?';
    return list === ALL_CPUS ? 'all' : list;
  } catch {
    return '?';
  }
}

/** Busy and total ticks per CPU since boot ("cpu0", "cpu1", ... lines of /proc/stat). */
function perCpuTicks(): Array<{ busy: number; total: number }> {
  const out: Array<{ busy: number; total: number }> = [];
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!/^cpu\d+ /.test(line)) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    out.push({ busy, total: busy + idle + iowait });
  }
  return out;
}

/**
 * Per-CPU ticks every 250 ms while a run goes on, so that the busy share of each CPU can be
 * taken over the measured window afterwards (run.ts's measure reports the window's wall clock).
 */
class PerCpuSampler {
  private readonly samples: Array<{ at: number; ticks: Array<{ busy: number; total: number }> }> = [];
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.samples.length = 0;
    const take = (): void => {
      this.samples.push({ at: Date.now(), ticks: perCpuTicks() });
    };
    take();
    this.timer = setInterval(take, 250);
  }

  /** Busy share of each CPU between the samples nearest to `from` and `to`. */
  stop(from: number, to: number): number[] {
    clearInterval(this.timer);
    this.samples.push({ at: Date.now(), ticks: perCpuTicks() });
    const nearest = (t: number): Array<{ busy: number; total: number }> =>
      this.samples.reduce((best, s) => (Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best)).ticks;
    const a = nearest(from);
    const b = nearest(to);
    return b.map((x, i) => {
      const dt = x.total - (a[i]?.total ?? 0);
      return dt > 0 ? round((x.busy - (a[i]?.busy ?? 0)) / dt) : 0;
    });
  }
}

function placementOf(pids: Record<string, number | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, allowedCpus(pid)]));
}

// ---------------------------------------------------------------------------------------------
// Processes

/** What starting a process needs from the context. */
type Spawner = Pick<ScaleOutContext<ScaleOutMeasured>, 'teardown' | 'databaseUrl' | 'redisUrl'>;

interface Started<T> {
  readonly it: T;
  /** Stops it once (later calls resolve at once) and takes it off the teardown list. */
  readonly stop: () => Promise<void>;
}

function stopOnce(teardown: Spawner['teardown'], name: string, fn: () => Promise<unknown>): () => Promise<void> {
  const remove = teardown.add(name, fn);
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= remove());
}

async function started<T extends { stop(): Promise<unknown> }>(
  ctx: Spawner,
  name: string,
  it: Promise<T>,
): Promise<Started<T>> {
  const value = await it;
  return { it: value, stop: stopOnce(ctx.teardown, name, () => value.stop()) };
}

function startCore(ctx: Spawner, name: string): Promise<Started<ServiceProcess>> {
  return started(
    ctx,
    name,
    startCoreProcess({
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URLS: ctx.redisUrl,
      MERCHANTS_JSON: TEST_MERCHANTS_JSON,
      LOG_LEVEL: 'info',
      AUTH_DISABLED: 'true',
    }),
  );
}

/** A gateway whose CORE_GRPC_TARGET lists every port: grpc-js balances round-robin over them. */
function startGateway(ctx: Spawner, corePorts: number[]): Promise<Started<ServiceProcess>> {
  const first = corePorts[0];
  if (first === undefined) throw new Error('a gateway needs at least one core');
  const target =
    corePorts.length === 1 ? `127.0.0.1:${first}` : `ipv4:${corePorts.map((p) => `127.0.0.1:${p}`).join(',')}`;
  return started(
    ctx,
    'gateway (scale-out)',
    startGatewayProcess(first, { LOG_LEVEL: 'info', CORE_GRPC_TARGET: target }),
  );
}

async function startNginxFor(ctx: Spawner, upstreamPort: number): Promise<Started<NginxServer> & { target: Target }> {
  const port = await freePort();
  const nginx = await startNginx((paths) => benchNginxConf(paths.dir, port, upstreamPort), { port });
  return {
    it: nginx,
    stop: stopOnce(ctx.teardown, 'nginx (scale-out)', () => nginx.dispose()),
    target: { port, path: NOTIFY_PATH },
  };
}

async function startTrivialCore(ctx: Spawner): Promise<Started<ManagedProcess> & { port: number }> {
  const proc = await ManagedProcess.spawn('trivial core', process.execPath, [path.join(__dirname, 'trivial-core.js')], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TRIVIAL_CORE_LISTEN: '127.0.0.1:0' },
  });
  const stop = stopOnce(ctx.teardown, 'trivial core (scale-out)', () => proc.terminate('SIGTERM', 10_000));
  let port = 0;
  await waitUntil(
    'the trivial core to listen',
    30_000,
    () => {
      if (!proc.running) throw new Error(proc.describe());
      port = Number(/trivial core listening on (\d+)/.exec(proc.output())?.[1] ?? 0);
      return port > 0;
    },
    { details: () => proc.describe() },
  );
  return { it: proc, stop, port };
}

// ---------------------------------------------------------------------------------------------
// The phase

/** Runs the phase; every process it starts is stopped, and every affinity restored, before it returns. */
export async function scaleOutPhase<M extends ScaleOutMeasured>(ctx: ScaleOutContext<M>): Promise<ScaleOutResult> {
  const result: ScaleOutResult = { cpus: os.cpus().length, runs: [], skipped: [] };
  const canPin = ((): string | undefined => {
    if (os.cpus().length < 2) return `${os.cpus().length} CPU: nothing to pin apart`;
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      return undefined;
    } catch {
      return 'taskset (util-linux) is not available';
    }
  })();
  const warmupS = ctx.quick ? 2 : 4;
  const windowS = ctx.quick ? 5 : 15;
  // CPU 0 for everything but the process under test, which gets CPU 1 alone.
  const rest = '0';
  const alone = '1';
  const pinShared = (cpus: string): void => {
    pinTree('postgres', ctx.postgresPid(), cpus);
    pinTree('redis', ctx.redisPid(), cpus);
    pinTree('load generator', ctx.loadgen.pid, cpus);
  };

  /** Fresh orders for `seconds` of `workload` at up to twice the rate seen so far, then one closed-loop run. */
  const run = async (
    workload: 'unique' | 'duplicates',
    prefix: string,
    seed: number,
    label: string,
    target: Target,
    observed: ScaleOutObserved,
    warmS: number,
  ): Promise<{ m: M; cpuBusy: number[] }> => {
    const seconds = warmS + windowS + 1;
    const rate = Math.max(200, ctx.capacity) * 2;
    // A storm sends 5-10 copies per order (7.5 on average).
    const orders = Math.ceil(workload === 'unique' ? rate * seconds : (rate * seconds) / 5) + 500;
    await ctx.createOrders(prefix, orders);
    const spec: WorkloadSpec = { type: workload, prefix, orders, seed };
    await ctx.loadgen.prepare(target, spec);
    const r = await measure(
      { mode: 'closed', connections: ctx.connections, warmupMs: warmS * 1000, durationMs: windowS * 1000, label },
      observed,
    );
    await ctx.check(prefix, r.m);
    return r;
  };

  /** ctx.measure, plus each CPU's busy share over the window. */
  const measure = async (spec: RunSpec, observed: ScaleOutObserved): Promise<{ m: M; cpuBusy: number[] }> => {
    const sampler = new PerCpuSampler();
    sampler.start();
    let m: M;
    try {
      m = await ctx.measure(spec, observed);
    } catch (e) {
      sampler.stop(0, 0);
      throw e;
    }
    const cpuBusy = sampler.stop(m.windowAt[0], m.windowAt[1]);
    ctx.log(`scale-out: CPU busy over the window, all processes: ${cpuBusy.map((b, i) => `cpu${i} ${b}`).join(', ')}`);
    return { m, cpuBusy };
  };

  const isolate = (m: ScaleOutMeasured, name: string, cpus: string): Isolated => {
    const own = m.cpuS[name] ?? 0;
    const others = Object.entries(m.cpuS)
      .filter(([k]) => k !== name)
      .reduce((a, [, v]) => a + v, 0);
    const busy = own / Math.max(0.001, m.run.windowS);
    return {
      process: name,
      cpus,
      busy: round(busy),
      othersBusy: round(others / Math.max(0.001, m.run.windowS)),
      fullCpuRps: busy > 0 ? Math.round(m.run.rps / busy) : 0,
    };
  };

  const shared = (): ProcessGroup[] => [
    { name: 'postgres', roots: () => [ctx.postgresPid()] },
    { name: 'redis', roots: () => [ctx.redisPid()] },
    { name: 'loadgen', roots: () => [ctx.loadgen.pid] },
  ];

  try {
    // --- 1. one core replica, pinned alone, then the same processes unpinned
    {
      const core = await startCore(ctx, 'core (scale-out)');
      const gateway = await startGateway(ctx, [core.it.port]);
      const nginx = await startNginxFor(ctx, gateway.it.port);
      const pids = (): Record<string, number | undefined> => ({
        core: core.it.process?.pid,
        gateway: gateway.it.process?.pid,
        nginx: nginx.it.pid,
        postgres: ctx.postgresPid(),
        redis: ctx.redisPid(),
        loadgen: ctx.loadgen.pid,
      });
      const observed: ScaleOutObserved = {
        groups: [
          { name: 'core', roots: () => [core.it.process?.pid] },
          { name: 'gateway', roots: () => [gateway.it.process?.pid] },
          { name: 'nginx', roots: () => [nginx.it.pid] },
          ...shared(),
        ],
        rss: () => ({ core: core.it.process?.pid, gateway: gateway.it.process?.pid }),
        counters: ctx.counters,
        sut: ['core', 'gateway', 'nginx', 'postgres', 'redis'],
      };
      try {
        if (canPin) {
          result.skipped.push(`pinned core: ${canPin}`);
        } else {
          pinTree('core', core.it.process?.pid, alone);
          pinTree('gateway', gateway.it.process?.pid, rest);
          pinTree('nginx', nginx.it.pid, rest);
          pinShared(rest);
          const placement = placementOf(pids());
          ctx.log(`scale-out: pinned ${JSON.stringify(placement)}`);
          const { m, cpuBusy } = await run(
            'unique',
            'bOp',
            60,
            `scale-out: one core alone on cpu ${alone}, the rest on cpu ${rest} (unique)`,
            nginx.target,
            observed,
            warmupS,
          );
          const isolated = isolate(m, 'core', alone);
          ctx.log(
            `scale-out: core alone: its CPU ${isolated.busy} busy, the others' ${isolated.othersBusy}; ${isolated.fullCpuRps} req/s at 100% (extrapolated)`,
          );
          result.runs.push({
            key: 'pinnedCore',
            title: 'one core replica alone on a CPU (unique)',
            placement,
            measured: m,
            cpuBusy,
            isolated,
          });
          for (const [name, pid] of Object.entries(pids())) pinTree(name, pid, ALL_CPUS);
        }
        const { m, cpuBusy } = await run(
          'unique',
          'bO1',
          61,
          'scale-out: one core replica, unpinned (unique)',
          nginx.target,
          observed,
          canPin ? warmupS : 1,
        );
        result.runs.push({
          key: 'oneReplica',
          title: 'one core replica, unpinned (unique)',
          placement: placementOf(pids()),
          measured: m,
          cpuBusy,
        });
        // --- 2. a second replica on the same PostgreSQL and Redis; a gateway that balances over both
        await nginx.stop();
        await gateway.stop();
        const core2 = await startCore(ctx, 'core 2 (scale-out)');
        const gateway2 = await startGateway(ctx, [core.it.port, core2.it.port]);
        const nginx2 = await startNginxFor(ctx, gateway2.it.port);
        try {
          const observed2: ScaleOutObserved = {
            groups: [
              { name: 'core', roots: () => [core.it.process?.pid] },
              { name: 'core2', roots: () => [core2.it.process?.pid] },
              { name: 'gateway', roots: () => [gateway2.it.process?.pid] },
              { name: 'nginx', roots: () => [nginx2.it.pid] },
              ...shared(),
            ],
            rss: () => ({
              core: core.it.process?.pid,
              core2: core2.it.process?.pid,
              gateway: gateway2.it.process?.pid,
            }),
            counters: ctx.counters,
            sut: ['core', 'core2', 'gateway', 'nginx', 'postgres', 'redis'],
          };
          const placement2 = (): Record<string, string> =>
            placementOf({
              core: core.it.process?.pid,
              core2: core2.it.process?.pid,
              gateway: gateway2.it.process?.pid,
              nginx: nginx2.it.pid,
              postgres: ctx.postgresPid(),
              redis: ctx.redisPid(),
              loadgen: ctx.loadgen.pid,
            });
          const { m: u, cpuBusy: uBusy } = await run(
            'unique',
            'bO2u',
            62,
            'scale-out: two core replicas, one gateway (unique)',
            nginx2.target,
            observed2,
            warmupS,
          );
          result.runs.push({
            key: 'twoReplicas',
            title: 'two core replicas, one gateway (unique)',
            placement: placement2(),
            measured: u,
            cpuBusy: uBusy,
          });
          const { m: d, cpuBusy: dBusy } = await run(
            'duplicates',
            'bO2d',
            63,
            'scale-out: two core replicas, one gateway (duplicate storm)',
            nginx2.target,
            observed2,
            1,
          );
          result.runs.push({
            key: 'twoReplicasDuplicates',
            title: 'two core replicas, one gateway (duplicate storm)',
            placement: placement2(),
            measured: d,
            cpuBusy: dBusy,
          });
        } finally {
          await nginx2.stop();
          await gateway2.stop();
          await core2.stop();
        }
      } finally {
        await nginx.stop();
        await gateway.stop();
        await core.stop();
      }
    }

    // --- 3. one gateway alone on a CPU, in front of the trivial core
    if (canPin) {
      result.skipped.push(`pinned gateway: ${canPin}`);
    } else {
      const trivial = await startTrivialCore(ctx);
      const gateway = await startGateway(ctx, [trivial.port]);
      const nginx = await startNginxFor(ctx, gateway.it.port);
      try {
        pinTree('gateway', gateway.it.process?.pid, alone);
        pinTree('trivial core', trivial.it.pid, rest);
        pinTree('nginx', nginx.it.pid, rest);
        pinShared(rest);
        const placement = placementOf({
          gateway: gateway.it.process?.pid,
          'trivial core': trivial.it.pid,
          nginx: nginx.it.pid,
          loadgen: ctx.loadgen.pid,
        });
        // The trivial core answers PAID whatever it is sent: the requests may repeat.
        await ctx.loadgen.prepare(nginx.target, { type: 'unique', prefix: 'bOx', orders: 20_000, seed: 64 });
        const { m, cpuBusy } = await measure(
          {
            mode: 'closed',
            connections: ctx.connections,
            warmupMs: warmupS * 1000,
            durationMs: windowS * 1000,
            label: `scale-out: gateway alone on cpu ${alone} in front of the trivial core`,
            cycle: true,
          },
          {
            groups: [
              { name: 'core', roots: () => [trivial.it.pid] },
              { name: 'gateway', roots: () => [gateway.it.process?.pid] },
              { name: 'nginx', roots: () => [nginx.it.pid] },
              { name: 'loadgen', roots: () => [ctx.loadgen.pid] },
            ],
            rss: () => ({ gateway: gateway.it.process?.pid }),
            sut: ['core', 'gateway', 'nginx'],
          },
        );
        const isolated = isolate(m, 'gateway', alone);
        ctx.log(
          `scale-out: gateway alone: its CPU ${isolated.busy} busy, the others' ${isolated.othersBusy}; ${isolated.fullCpuRps} req/s at 100% (extrapolated)`,
        );
        result.runs.push({
          key: 'pinnedGateway',
          title: 'one gateway alone on a CPU, trivial core behind it',
          placement,
          measured: m,
          cpuBusy,
          isolated,
        });
      } finally {
        await nginx.stop();
        await gateway.stop();
        await trivial.stop();
      }
    }
  } finally {
    // Later phases share PostgreSQL, Redis and the load generator: give them every CPU back.
    if (!canPin) {
      for (const [name, pid] of [
        ['postgres', ctx.postgresPid()],
        ['redis', ctx.redisPid()],
        ['load generator', ctx.loadgen.pid],
      ] as const) {
        try {
          pinTree(name, pid, ALL_CPUS);
        } catch (e) {
          ctx.log(`scale-out: could not unpin ${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

/** The report.md section: every run, what the pinned processes would sustain, and the replicas' balance. */
export function renderScaleOut(s: ScaleOutResult): string[] {
  const f = (v: number | undefined, d = 2): string => (v === undefined || Number.isNaN(v) ? '–' : String(round(v, d)));
  const L: string[] = ['## Scale-out (--phases=scaleout)', ''];
  L.push(
    `${s.cpus} CPUs. Pinned runs: the process under test alone on one CPU (\`taskset -a -p -c\`), everything else ` +
      '(PostgreSQL, Redis, nginx, the other services, the load generator) on the other. Two replicas: both cores on the same ' +
      'PostgreSQL and Redis, one gateway balancing round-robin over both (`CORE_GRPC_TARGET=ipv4:127.0.0.1:p1,127.0.0.1:p2`), ' +
      'all unpinned. Bench model and inputs: bench/README.md, "Scale-out".',
    '',
  );
  if (s.skipped.length > 0) L.push(`Left out: ${s.skipped.join('; ')}.`, '');
  L.push(
    '| run | placement | req/s | p50 ms | p99 ms | CPU ms/req: core | core 2 | gateway | nginx | postgres | redis | total | write xacts/req | WAL bytes/req | EVALSHA/req | exactly once | unexpected | CPUs busy, all processes | other load |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |',
  );
  for (const r of s.runs) {
    const m = r.measured;
    const c = m.cpuMsPerReq;
    const n = Math.max(1, m.run.completed);
    const byCpus = new Map<string, string[]>();
    for (const [name, cpus] of Object.entries(r.placement)) byCpus.set(cpus, [...(byCpus.get(cpus) ?? []), name]);
    const placement = [...byCpus].map(([cpus, names]) => `${names.join(', ')}: ${cpus}`).join('; ');
    L.push(
      `| ${r.title} | ${placement} | ${f(m.run.rps, 0)} | ${f(m.latency.p50Ms, 1)} | ${f(m.latency.p99Ms, 1)} | ${f(c['core'])} | ${f(c['core2'])} | ` +
        `${f(c['gateway'])} | ${f(c['nginx'])} | ${f(c['postgres'])} | ${f(c['redis'])} | ${f(c['total'])} | ` +
        `${m.counters ? f(m.counters.writeXacts / n) : '–'} | ${m.counters ? f(m.counters.walBytes / n, 0) : '–'} | ` +
        `${m.counters ? f((m.counters.redis['evalsha'] ?? 0) / n) : '–'} | ${m.check ? String(m.check['exactlyOnce']) : '–'} | ` +
        `${m.unexpected} | ${r.cpuBusy?.join(' / ') ?? '–'} | ${m.foreignCores} |`,
    );
  }
  L.push('');
  const isolated = s.runs.filter((r) => r.isolated);
  if (isolated.length > 0) {
    L.push(
      '| pinned run | process alone on cpu | its CPU busy with it | its CPU busy, all processes | our other processes (CPU s/s) | req/s measured | req/s at 100% of its CPU (extrapolated) | at 65% |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of isolated) {
      const i = r.isolated;
      if (!i) continue;
      L.push(
        `| ${r.title} | ${i.process} on ${i.cpus} | ${f(i.busy)} | ${f(r.cpuBusy?.[Number(i.cpus)])} | ${f(i.othersBusy)} | ${f(r.measured.run.rps, 0)} | ${i.fullCpuRps} | ${Math.round(i.fullCpuRps * 0.65)} |`,
      );
    }
    L.push(
      '',
      'When the other CPU is the busy one (about 1.0), it set the rate and the pinned process had CPU to spare: ' +
        'its full-CPU rate is the measured rate divided by how busy its CPU was with it, assuming CPU per request stays as measured. ' +
        'Where its CPU was busier, all processes counted, than with it alone, work from outside the bench shared that CPU.',
      '',
    );
  }
  for (const r of s.runs.filter((x) => x.measured.cpuS['core2'] !== undefined)) {
    const a = r.measured.cpuS['core'] ?? 0;
    const b = r.measured.cpuS['core2'] ?? 0;
    if (a + b > 0)
      L.push(
        `${r.title}: replicas' share of the cores' CPU ${Math.round((100 * a) / (a + b))}% / ${Math.round((100 * b) / (a + b))}%.`,
        '',
      );
  }
  return L;
}
