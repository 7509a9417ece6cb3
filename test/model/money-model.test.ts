// The money path, model-based: random sequences of CreateOrder, v2 and v3 payments and refunds
// (genuine, redelivered, concurrent, forged, wrong amount or app, another or a reused
// transaction, before the order exists), core restarts and, on PostgreSQL, the core's database
// sessions terminated mid-notification. Each runs against the real core over gRPC and against
// the reference model (money-model.ts); after every command the core's orders, events,
// anomalies, refunds and notification count must be the model's.
//
// Bounded by default (part of `make test`: SQLite and PostgreSQL, 40 short runs each). For
// longer runs and replays, `make model` (see the Makefile) or these variables:
//   MODEL_BACKENDS  sqlite,postgres,mariadb (default sqlite,postgres)
//   MODEL_RUNS      runs per backend (default 40)     MODEL_COMMANDS  commands per run at most (default 12)
//   MODEL_SEED, MODEL_PATH, MODEL_REPLAY_PATH         replay a failure (the failure prints them)
//   MODEL_SHRINK_MS time spent shrinking a failure (default 8000; make model: 60000)
//   MODEL_TODAY     model today's behaviour for NEW rules: transaction-reuse, parked-v3

import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MARIADB_REDLOCK, POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type BackendKind } from '../../harness/backends';
import { createOrder, makeSlots, moneyCommandArb, payOrder } from './model-commands';
import { ModelSystem } from './model-system';
import { MoneyModel, RULES_AS_SPECIFIED, type ModelRules } from './money-model';

const KINDS: Readonly<Record<string, BackendKind>> = {
  sqlite: SQLITE_IN_PROCESS,
  postgres: POSTGRES_REDLOCK,
  mariadb: MARIADB_REDLOCK,
};
const TODAY_RULES: Readonly<Record<string, Partial<ModelRules>>> = {
  'transaction-reuse': { transactionPaysOneOrder: false },
  'parked-v3': { replayParkedV3: false },
};

function readSettings(env: NodeJS.ProcessEnv): {
  backends: string[];
  runs: number;
  commands: number;
  seed: number;
  path: string | undefined;
  replayPath: string | undefined;
  shrinkMs: number;
  rules: ModelRules;
  today: string[];
} {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) problems.push(`${name}=${raw} must be an integer >= ${min}`);
    return n;
  };
  const list = (name: string, fallback: string, known: readonly string[]): string[] => {
    const items = (env[name] || fallback)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const item of items)
      if (!known.includes(item)) problems.push(`${name}: ${item} is not one of ${known.join(', ')}`);
    return items;
  };
  const seedText = env['MODEL_SEED'];
  const settings = {
    backends: list('MODEL_BACKENDS', 'sqlite,postgres', Object.keys(KINDS)),
    runs: int('MODEL_RUNS', 40, 1),
    commands: int('MODEL_COMMANDS', 12, 1),
    seed: seedText ? int('MODEL_SEED', 0, -(2 ** 31)) : Math.floor(Math.random() * 2 ** 31),
    path: env['MODEL_PATH'] || undefined,
    replayPath: env['MODEL_REPLAY_PATH'] || undefined,
    shrinkMs: int('MODEL_SHRINK_MS', 8_000, 0),
    today: list('MODEL_TODAY', '', Object.keys(TODAY_RULES)),
    rules: RULES_AS_SPECIFIED,
  };
  if (settings.path && !seedText) problems.push('MODEL_PATH replays a failure only together with its MODEL_SEED');
  if (settings.backends.length === 0) problems.push('MODEL_BACKENDS names no backend');
  if (problems.length > 0) throw new Error(`money model settings: ${problems.join('; ')}`);
  settings.rules = Object.freeze(
    settings.today.reduce<typeof RULES_AS_SPECIFIED>(
      (rules, t) => ({ ...rules, ...TODAY_RULES[t] }),
      RULES_AS_SPECIFIED,
    ),
  );
  return settings;
}

const settings = readSettings(process.env);
console.log(
  `money model: MODEL_SEED=${settings.seed} MODEL_RUNS=${settings.runs} MODEL_COMMANDS=${settings.commands} ` +
    `MODEL_BACKENDS=${settings.backends.join(',')}${settings.today.length ? ` MODEL_TODAY=${settings.today.join(',')} (NEW rules modelled as today's behaviour)` : ''}`,
);

/** Every run's ids start with a prefix of their own: the tables are shared by all runs of a backend. */
const processTag = (Date.now() % 36 ** 4).toString(36).padStart(4, '0');
let runs = 0;
const nextPrefix = (): string => `m${processTag}${(runs++).toString(36)}`;

for (const name of settings.backends) {
  const kind = KINDS[name];
  if (!kind) throw new Error(`unknown backend ${name}`);
  describe(`money model on ${kind.name}`, () => {
    let system: ModelSystem | undefined;
    before(async () => {
      system = await ModelSystem.start(kind);
    });
    after(async () => {
      await system?.close();
    });

    test(`${settings.path ? 'the replayed failure leaves' : `${settings.runs} random sequences of up to ${settings.commands} commands leave`} the core equal to the model`, async (t) => {
      const sys = system;
      if (!sys) throw new Error(`${kind.name} did not start`);
      const started = Date.now();
      // Once a run failed, shrinking gets this long; after it, candidates are skipped, which ends
      // the shrinking with the smallest failure found so far.
      let shrinkUntil: number | undefined;
      const property = fc.asyncProperty(
        // Each order's planned amount, and how far it got before the first command (a third each:
        // absent, created, paid), so payments and refunds meet orders in every state; absent ones
        // are created, if at all, by a command.
        fc.array(
          fc.record(
            {
              fee: fc.integer({ min: 1, max: 300 }),
              first: fc.constantFrom<'absent' | 'created' | 'paid'>('absent', 'created', 'paid'),
            },
            { noNullPrototype: true },
          ),
          { minLength: 4, maxLength: 4 },
        ),
        fc.commands([moneyCommandArb({ faults: sys.canTerminateSessions })], {
          maxCommands: settings.commands,
          // Lengths spread up to maxCommands: the default favours very short sequences.
          size: 'max',
          ...(settings.replayPath ? { replayPath: settings.replayPath } : {}),
        }),
        async (plan, commands) => {
          if (shrinkUntil !== undefined && Date.now() > shrinkUntil) fc.pre(false);
          await sys.ensureCore();
          const slots = makeSlots(
            nextPrefix(),
            plan.map((p) => p.fee),
          );
          try {
            await fc.asyncModelRun(async () => {
              const model = new MoneyModel(slots, settings.rules, { terminateSessions: sys.canTerminateSessions });
              for (const [i, p] of plan.entries()) if (p.first !== 'absent') await createOrder(i).run(model, sys);
              for (const [i, p] of plan.entries()) if (p.first === 'paid') await payOrder(i).run(model, sys);
              return { model, real: sys };
            }, commands);
          } catch (e) {
            shrinkUntil ??= Date.now() + settings.shrinkMs;
            throw e;
          }
        },
      );
      const details = await fc.check(property, {
        numRuns: settings.runs,
        seed: settings.seed,
        ...(settings.path ? { path: settings.path, endOnFailure: true } : {}),
      });
      t.diagnostic(
        `${details.numRuns} runs, ${sys.commandsRun} commands, ${details.numShrinks} shrinks, ${sys.restarts} core restarts, ${((Date.now() - started) / 1000).toFixed(1)} s; slowest: ${sys.slowest.name} ${sys.slowest.ms} ms`,
      );
      t.diagnostic(
        `covered (first deliveries by expected verdict, faults): ${[...sys.coverage]
          .sort()
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      );
      if (details.failed) {
        const replayPath = /replayPath="([^"]+)"/.exec(fc.stringify(details.counterexample))?.[1];
        const error =
          details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(
          `${fc.defaultReportMessage(details) ?? 'the property failed'}\n\nThe error:\n${error}\n\nReplay this failure:\n  make model MODEL_BACKENDS=${name} ` +
            `MODEL_SEED=${details.seed} MODEL_PATH='${details.counterexamplePath ?? ''}' MODEL_COMMANDS=${settings.commands}` +
            `${replayPath ? ` MODEL_REPLAY_PATH='${replayPath}'` : ''}${settings.today.length ? ` MODEL_TODAY=${settings.today.join(',')}` : ''}`,
        );
      }
    });
  });
}
