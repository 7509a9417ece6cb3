// The fault scenarios: a storm of simulated WeChat notifications through the whole stack while
// one fault is injected, then the invariants. Shared by fast.test.ts (small) and full.suite.ts.

import assert from 'node:assert/strict';
import knex from 'knex';
import { Client } from 'pg';
import { DeliveryLog } from '../../tools/simulator/delivery-log';
import { httpTransport } from '../../tools/simulator/http-transport';
import {
  newRunId,
  parseMix,
  planNotifications,
  type Mix,
  type Plan,
  type PlannedNotification,
} from '../../tools/simulator/notification-mix';
import { createOrders, grpcOrderRegistrar } from '../../tools/simulator/order-registrar';
import { REPLY_TIMEOUT_MS } from '../../tools/simulator/reply-check';
import { WECHAT_SCHEDULE } from '../../tools/simulator/retry-schedule';
import type { AttemptRecord } from '../../tools/simulator/sender';
import { runSimulation, type SimulationReport } from '../../tools/simulator/simulation';
import { formatSummary } from '../../tools/simulator/summary';
import { makeTempDir } from '../../harness/temp-dir';
import { DEMO } from '../../harness/sign-notification';
import { checkInvariants, type InvariantReport } from './invariants';
import { scrapeCounter, startStack, type Backends, type Stack, type StackOptions } from './stack';

/** The default storm mix: every kind the issue names, valid ones in the majority. */
const STORM_MIX: Mix = parseMix(
  'unique=50,duplicate=12,concurrent-duplicate=15,forged=10,wrong-amount=7,unknown-order=3,malformed=3',
);

export interface Size {
  /** Notifications in the storm (distinct; duplicates add deliveries). */
  readonly count: number;
  /** First deliveries spread over this window. */
  readonly spreadMs: number;
  /** How long the fault lasts. */
  readonly faultMs: number;
}

interface FaultContext {
  readonly stack: Stack;
  readonly backends: Backends;
  readonly plan: Plan;
  readonly size: Size;
  /** Resolves `ms` after the storm started. */
  readonly at: (ms: number) => Promise<void>;
  /** A line for the fault timeline. */
  readonly note: (text: string) => void;
}

interface Fault {
  readonly describe: string;
  /** Changes planned notifications before the storm (lock-expiry adds late senders). */
  readonly adjust?: (n: PlannedNotification) => PlannedNotification;
  /** Holds a notification back before its first send (lock-expiry sets up its row lock first). */
  readonly beforeSend?: (n: PlannedNotification) => Promise<void>;
  /** Runs alongside the storm; returns evidence that the fault did what it claims. */
  run(ctx: FaultContext): Promise<Record<string, unknown>>;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly stack?: Omit<StackOptions, 'database'>;
  readonly mix?: Mix;
  readonly checked: string;
  fault(plan: Plan, size: Size): Fault;
  /**
   * Proof that the fault was felt: FAIL reasons it must have caused at least once (a list inside
   * means any one of them), e.g. LOCK_UNAVAILABLE while Redis had no quorum.
   */
  readonly expectReasons?: ReadonlyArray<string | readonly string[]>;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly size: Size;
  readonly elapsedMs: number;
  readonly report: SimulationReport;
  readonly invariants: InvariantReport;
  readonly evidence: Record<string, unknown>;
  readonly timeline: readonly string[];
  readonly endedByTest: readonly string[];
  readonly logPath: string;
  /** Problems with the proof that the fault happened (empty when it was felt). */
  readonly faultFelt: readonly string[];
}

/** Time compression for every scenario: WeChat's 24h4m of retries in 86.64 s. */
const TIME_SCALE = 0.001;
/** Bad notifications are tried this often (a scaled day of retries would prove nothing more). */
const INVALID_ATTEMPTS = 3;

let scenarioSeq = 0;

export async function runScenario(backends: Backends, scenario: Scenario, size: Size): Promise<ScenarioResult> {
  const started = Date.now();
  scenarioSeq += 1;
  const stack = await startStack(backends, {
    database: `rel_${scenario.id.replace(/-/g, '_')}_${process.pid}_${scenarioSeq}`,
    ...scenario.stack,
  });
  // RELIABILITY_LOG_DIR keeps the delivery logs (JSONL) after the run; by default they go with the temp dir.
  const logDir = process.env['RELIABILITY_LOG_DIR'] ?? (await makeTempDir('reliability-log'));
  const logPath = `${logDir}/${scenario.id}.jsonl`;
  let stopped = false;
  try {
    const runId = newRunId();
    const planned = planNotifications({
      count: size.count,
      mix: scenario.mix ?? STORM_MIX,
      seed: hashSeed(scenario.id),
      runId,
      signType: 'mixed',
      spreadMs: size.spreadMs,
      merchant: { mchId: DEMO.mchId, appid: DEMO.appid, apiKey: DEMO.key },
      duplicateGapMs: [200, 1500],
    });
    const registrar = grpcOrderRegistrar(stack.coreAddress);
    try {
      await createOrders(registrar, planned.orders, 16);
    } finally {
      registrar.close();
    }
    const fault = scenario.fault(planned, size);
    const adjust = fault.adjust;
    const plan: Plan = adjust ? { ...planned, notifications: planned.notifications.map((n) => adjust(n)) } : planned;
    const log = new DeliveryLog(logPath);
    const transport = httpTransport({ maxSockets: 128 });
    const timeline: string[] = [];
    let stormStart = 0;
    const ctx: FaultContext = {
      stack,
      backends,
      plan,
      size,
      at: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, stormStart + ms - Date.now()))),
      note: (text) => timeline.push(`+${((Date.now() - stormStart) / 1000).toFixed(1)}s ${text}`),
    };
    stormStart = Date.now();
    const faultRun = fault.run(ctx);
    // A fault that throws must still let the storm finish; its error is rethrown below.
    const faultSettled = faultRun.then(
      (evidence) => ({ ok: true as const, evidence }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const report = await runSimulation(plan.notifications, {
      url: stack.notifyUrl,
      schedule: WECHAT_SCHEDULE,
      timeScale: TIME_SCALE,
      transport: transport.send,
      log,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      concurrency: 64,
      invalidMaxAttempts: INVALID_ATTEMPTS,
      beforeSend: fault.beforeSend,
    });
    const faultOutcome = await faultSettled;
    transport.close();
    log.write({ type: 'summary', ...report.summary });
    await log.close();
    if (!faultOutcome.ok) throw faultOutcome.error;
    const evidence: Record<string, unknown> = { ...faultOutcome.evidence, failReasons: failReasons(log.attempts) };
    if (stack.coreMetricsPorts.length > 0) {
      evidence['decisionsByCore'] = await Promise.all(
        stack.coreMetricsPorts.map((p) =>
          scrapeCounter(p, 'payment_callback_notifications_total', 'outcome').catch((e: unknown) => String(e)),
        ),
      );
    }
    const endedByTest = stack.watch.endedByTest();
    const processProblems = await stack.stop();
    stopped = true;
    const invariants = await (async () => {
      const db = knex({ client: 'pg', connection: stack.databaseUrl, pool: { min: 0, max: 2 } });
      try {
        return await checkInvariants({
          db,
          plan,
          report,
          schedule: WECHAT_SCHEDULE,
          timeScale: TIME_SCALE,
          replyTimeoutMs: REPLY_TIMEOUT_MS,
          invalidMaxAttempts: INVALID_ATTEMPTS,
          processProblems,
          attempts: log.attempts,
        });
      } finally {
        await db.destroy();
      }
    })();
    const reasons = evidence['failReasons'] as Record<string, number>;
    const missing = (scenario.expectReasons ?? [])
      .map((r) => (typeof r === 'string' ? [r] : r))
      .filter((any) => !any.some((r) => (reasons[r] ?? 0) > 0));
    const faultFelt = missing.map((any) => `the fault was not felt: no ${any.join(' or ')} reply`);
    return {
      id: scenario.id,
      title: scenario.title,
      size,
      elapsedMs: Date.now() - started,
      report,
      invariants,
      evidence,
      timeline,
      endedByTest,
      logPath,
      faultFelt,
    };
  } finally {
    if (!stopped) await stack.stop().catch(() => undefined);
  }
}

/**
 * FAIL replies by reason: the core's code before the colon of return_msg (LOCK_UNAVAILABLE,
 * STORE_UNAVAILABLE, INVALID_SIGNATURE...), or the text of a reply the gateway or nginx made
 * itself ("the service is temporarily unavailable; retry later"); "no reply: CODE" for none.
 */
function failReasons(attempts: readonly AttemptRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of attempts) {
    if (a.acknowledged) continue;
    const msg = a.body ? (/<return_msg><!\[CDATA\[([^\]]*)/.exec(a.body)?.[1] ?? '') : '';
    const code = /^([A-Z_]+):/.exec(msg)?.[1];
    const key =
      a.status === null
        ? `no reply: ${a.error ?? '?'}`
        : (code ??
          (msg.startsWith('field ') || msg.startsWith('malformed')
            ? 'refused by the gateway parser'
            : msg || `HTTP ${a.status}`));
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

function hashSeed(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** One line per scenario for RELIABILITY.md, and the details for the test output. */
/** The invariants every scenario must keep, and that its fault was felt; `text` is the failure message. */
export function assertNothingLostOrDoubled(r: ScenarioResult, text: string): void {
  const i = r.invariants;
  assert.deepEqual(
    {
      lost: i.lost,
      doubled: i.doubled,
      forgedAccepted: i.forgedAccepted,
      wrongAmount: i.wrongAmountViolations,
      otherBad: i.otherBadViolations,
      notAcknowledged: i.notAcknowledged,
      crashes: i.crashes,
    },
    { lost: 0, doubled: 0, forgedAccepted: 0, wrongAmount: 0, otherBad: 0, notAcknowledged: 0, crashes: 0 },
    text,
  );
  assert.deepEqual(r.faultFelt, [], text);
}

export function describeResult(r: ScenarioResult): string {
  const s = r.report.summary;
  const i = r.invariants;
  return [
    `scenario ${r.id}: ${r.title}`,
    `  load: ${s.notifications} notifications, ${s.deliveries} deliveries, ${s.attempts} attempts in ${(r.report.elapsedMs / 1000).toFixed(1)} s (scenario ${(r.elapsedMs / 1000).toFixed(1)} s)`,
    `  result: lost ${i.lost}, doubled ${i.doubled}, forged accepted ${i.forgedAccepted}, wrong-amount violations ${i.wrongAmountViolations}, ` +
      `other bad violations ${i.otherBadViolations}, not acknowledged ${i.notAcknowledged}, crashes ${i.crashes}`,
    `  faults: ${r.timeline.join('; ')}`,
    `  ended by the test: ${r.endedByTest.join(', ') || 'none'}`,
    `  evidence: ${JSON.stringify(r.evidence)}`,
    ...formatSummary(s)
      .split('\n')
      .map((l) => `  ${l}`),
    `  log: ${r.logPath}`,
    ...i.violations.map((v) => `  VIOLATION ${v}`),
    ...r.faultFelt.map((v) => `  FAULT NOT FELT ${v}`),
  ].join('\n');
}

// ---- the scenarios -------------------------------------------------------------------------

/** PostgreSQL stopped (fast shutdown) mid-storm, then started again on the same data. */
export const POSTGRES_RESTART: Scenario = {
  id: 'postgres-restart',
  title: 'PostgreSQL stopped for a while, then restarted',
  checked: 'all invariants; core answers FAIL (503) while the database is down and recovers without a restart',
  expectReasons: ['STORE_UNAVAILABLE'],
  fault: (_plan, size) => ({
    describe: `PostgreSQL down for ${size.faultMs} ms`,
    run: async ({ backends, at, note }) => {
      await at(size.spreadMs * 0.3);
      note('stop PostgreSQL');
      await backends.postgres.stop();
      const down = Date.now();
      await new Promise((r) => setTimeout(r, size.faultMs));
      note('start PostgreSQL');
      await backends.postgres.restart();
      note('PostgreSQL accepting connections');
      return { postgresDownMs: Date.now() - down };
    },
  }),
};

/** One Redis node of three killed (quorum holds), then a second (quorum lost), then both restored. */
export const REDIS_QUORUM: Scenario = {
  id: 'redis-quorum',
  title: 'one of three Redis nodes killed (quorum holds), then two (quorum lost), then restored',
  checked:
    'all invariants; with 2 of 3 nodes the lock works, with 1 of 3 for longer than LOCK_WAIT_MS the orders that wait it out answer FAIL',
  // Redlock retries for the whole LOCK_WAIT_MS (2 s) before it says LOCK_UNAVAILABLE; on a busy
  // machine the gateway's 3 s deadline can pass first, and then the gateway answers 503 itself.
  expectReasons: [['LOCK_UNAVAILABLE', 'the service is temporarily unavailable; retry later']],
  fault: (_plan, size) => ({
    describe: 'Redis 1 of 3 down, then 2 of 3',
    run: async ({ backends, at, note }) => {
      const [a, b] = backends.redis;
      if (!a || !b) throw new Error('needs three Redis nodes');
      await at(size.spreadMs * 0.15);
      note('SIGKILL redis0 (2 of 3 left: quorum)');
      await a.kill();
      await at(size.spreadMs * 0.15 + size.faultMs);
      note('SIGKILL redis1 (1 of 3 left: no quorum)');
      await b.kill();
      // Longer than LOCK_WAIT_MS (2 s): an acquisition that finds no quorum keeps trying for that
      // long and is paid if the nodes come back in time (it may count the node where its own
      // earlier attempt left its value), so a shorter gap is ridden through, not felt.
      await new Promise((r) => setTimeout(r, Math.max(size.faultMs, NO_QUORUM_MS)));
      note('restart redis1 and redis0 (empty)');
      await Promise.all([b.restart(), a.restart()]);
      return {};
    },
  }),
};

/** How long the redis-quorum scenario keeps two of three nodes down: LOCK_WAIT_MS (2 s) and more. */
const NO_QUORUM_MS = 2_600;

/** The core SIGKILLed in the middle of the storm, restarted on the same port. */
export const CORE_SIGKILL: Scenario = {
  id: 'core-sigkill',
  title: 'the core process SIGKILLed mid-storm and restarted',
  checked:
    "all invariants; in-flight transactions roll back, their Redlock locks expire (LOCK_TTL_MS 10 s), WeChat's retries finish the work",
  expectReasons: ['the service is temporarily unavailable; retry later'],
  fault: (_plan, size) => ({
    describe: `core SIGKILL, down ${size.faultMs} ms`,
    run: async ({ stack, at, note }) => {
      await at(size.spreadMs * 0.35);
      note('SIGKILL core0');
      await stack.killCore(0);
      await new Promise((r) => setTimeout(r, size.faultMs));
      note('start core0');
      await stack.restartCore(0);
      note('core0 listening');
      return {};
    },
  }),
};

/** The gateway stopped with SIGTERM (it drains) and started again. */
export const GATEWAY_RESTART: Scenario = {
  id: 'gateway-restart',
  title: 'the gateway restarted (SIGTERM, drain, start)',
  checked: 'all invariants; the gateway exits 0 after draining, nginx answers 503 FAIL meanwhile',
  expectReasons: ['the service is temporarily unavailable; retry later'],
  fault: (_plan, size) => ({
    describe: 'gateway restart',
    run: async ({ stack, at, note }) => {
      await at(size.spreadMs * 0.4);
      note('SIGTERM gateway');
      await stack.restartGateway();
      note('gateway listening again');
      return {};
    },
  }),
};

/**
 * LOCK_TTL_MS=1000 while the test holds a row lock on some orders for 2 s, so a core's
 * transaction outlives its Redlock lock and a second delivery of the same notification gets the
 * (expired) lock and a transaction of its own: only the database stands between them. Two
 * cores, because copies that reach the same core queue behind each other in that process
 * before they ever ask Redis; the gateway spreads deliveries over both.
 */
export function lockExpiry(holdMs = 2_000, rounds = 2, ordersPerRound = 3): Scenario {
  return {
    id: 'lock-expiry',
    title: `a Redlock lock that expires before the transaction ends (LOCK_TTL_MS 1000, row lock held ${holdMs} ms)`,
    checked:
      'all invariants; two core transactions for one order were seen waiting at once (the lock had expired), still one PAID and one ORDER_PAID',
    expectReasons: ['LOCK_BUSY'],
    stack: { cores: 2, coreEnv: { LOCK_TTL_MS: '1000', LOCK_WAIT_MS: '900', DATABASE_POOL_MAX: '40' } },
    fault: (plan, size) => {
      const candidates = plan.notifications.filter((n) => n.kind === 'concurrent-duplicate');
      const picked: PlannedNotification[][] = [];
      for (let r = 0; r < rounds; r++) {
        // Spread the rounds over the storm: take candidates starting at (r + 0.5) / (rounds + 1) of the window.
        const from = Math.max(
          0,
          candidates.findIndex((n) => n.startAtMs >= (size.spreadMs * (r + 0.5)) / (rounds + 1)),
        );
        picked.push(candidates.slice(from, from + ordersPerRound));
      }
      const gates = picked.map(() => deferred());
      const roundOf = new Map(picked.flatMap((round, r) => round.map((n) => [n.id, r] as const)));
      const perOrder: Record<string, number> = {};

      const holdRound = async (r: number, { stack, at, note }: FaultContext): Promise<void> => {
        const round = picked[r] ?? [];
        const first = round[0];
        if (first) await at(first.startAtMs);
        const holders: Array<{ n: PlannedNotification; client: Client; pid: number }> = [];
        try {
          for (const n of round) {
            const client = new Client({ connectionString: stack.databaseUrl });
            client.on('error', () => undefined);
            await client.connect();
            holders.push({ n, client, pid: 0 });
            await client.query('BEGIN');
            await client.query('SELECT 1 FROM orders WHERE mch_id = $1 AND out_trade_no = $2 FOR UPDATE', [
              DEMO.mchId,
              n.outTradeNo,
            ]);
            const h = holders[holders.length - 1];
            if (h) h.pid = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
          }
          note(`round ${r + 1}: row-locked ${round.map((n) => n.outTradeNo).join(', ')}; releasing their deliveries`);
          gates[r]?.resolve();
          // The hold counts from the moment a core transaction waits on the row, so that it
          // outlives the 1 s lock however slowly the machine delivers; if no second transaction
          // has joined by then, it is held up to holdMs longer (a loaded machine) before giving up.
          const sample = async (): Promise<number> => {
            const blocked = await blockedBehind(
              stack,
              holders.map((h) => h.pid),
            );
            for (const h of holders)
              perOrder[h.n.outTradeNo] = Math.max(perOrder[h.n.outTradeNo] ?? 0, blocked.get(h.pid) ?? 0);
            return Math.min(...holders.map((h) => blocked.get(h.pid) ?? 0));
          };
          const firstWaitBy = Date.now() + 10_000;
          while ((await sample()) < 1 && Date.now() < firstWaitBy) await sleep(50);
          note(`round ${r + 1}: a core transaction waits on each row`);
          const holdUntil = Date.now() + holdMs;
          const extendUntil = holdUntil + holdMs;
          for (;;) {
            const all = await sample();
            if (Date.now() >= extendUntil || (Date.now() >= holdUntil && all >= 2)) break;
            await sleep(100);
          }
        } finally {
          await Promise.all(
            holders.map(async (h) => {
              await h.client.query('COMMIT').catch(() => undefined);
              await h.client.end().catch(() => undefined);
            }),
          );
          note(`round ${r + 1}: row locks released`);
        }
      };

      return {
        describe: `${rounds} rounds of ${ordersPerRound} orders row-locked for ${holdMs} ms`,
        // Two more WeChat servers send the same notification 1.3 s and 1.6 s after the first: by
        // then the first delivery's lock (TTL 1 s) has expired while its transaction still waits.
        adjust: (n) => (roundOf.has(n.id) ? { ...n, offsetsMs: [...n.offsetsMs, 1_300, 1_600] } : n),
        beforeSend: async (n) => {
          const r = roundOf.get(n.id);
          if (r !== undefined) await gates[r]?.promise;
        },
        run: async (ctx) => {
          try {
            for (let r = 0; r < rounds; r++) await holdRound(r, ctx);
          } finally {
            // Never leave a delivery waiting at its gate, whatever happened.
            for (const g of gates) g.resolve();
          }
          const maxConcurrent = Math.max(0, ...Object.values(perOrder));
          if (maxConcurrent < 2) {
            throw new Error(
              `the lock never expired under a transaction: at most ${maxConcurrent} core transaction(s) waited on one order at once (${JSON.stringify(perOrder)})`,
            );
          }
          return { coreTransactionsWaitingOnOneOrderAtOnce: perOrder, maxConcurrent };
        },
      };
    },
  };
}

/** For each holder pid, how many other backends wait on it, directly or through another waiter. */
async function blockedBehind(stack: Stack, holders: readonly number[]): Promise<Map<number, number>> {
  const rows = await stack.db.raw<{ rows: Array<{ pid: number; blockers: number[] }> }>(
    'SELECT pid, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE datname = current_database()',
  );
  const out = new Map<number, number>();
  for (const holder of holders) {
    const behind = new Set<number>([holder]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const r of rows.rows) {
        if (!behind.has(r.pid) && r.blockers.some((b) => behind.has(b))) {
          behind.add(r.pid);
          grew = true;
        }
      }
    }
    out.set(holder, behind.size - 1);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Two cores on one database, each with only its in-process lock: nothing but the database between them. */
export const TWO_CORES: Scenario = {
  id: 'two-cores',
  title: 'two core processes on one database racing the same notifications (no shared lock)',
  checked: 'all invariants; the gateway spreads calls over both cores (round robin), both decided PAID and DUPLICATE',
  stack: { cores: 2, sharedLock: false, metrics: true },
  mix: parseMix('unique=30,duplicate=15,concurrent-duplicate=35,forged=8,wrong-amount=6,unknown-order=3,malformed=3'),
  fault: () => ({
    describe: 'none besides the race',
    run: async () => ({}),
  }),
};
