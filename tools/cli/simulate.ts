import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEMO_MERCHANT } from '../../src/config';
import { DeliveryLog } from '../simulator/delivery-log';
import { httpTransport } from '../simulator/http-transport';
import { DEFAULT_MIX, NOTIFICATION_KINDS, newRunId, parseMix, planNotifications } from '../simulator/notification-mix';
import { createOrders, grpcOrderRegistrar } from '../simulator/order-registrar';
import { REPLY_TIMEOUT_MS } from '../simulator/reply-check';
import { describeSchedule, parseSchedule } from '../simulator/retry-schedule';
import { runSimulation } from '../simulator/simulation';
import { formatSummary } from '../simulator/summary';
import { V2_SIGN_TYPES, type V2SignType } from '../../harness/v2-signature';

const USAGE = `usage: node dist/tools/cli/simulate.js [options]

The WeChat Pay side of payment notifications: registers orders with the core over gRPC
(CreateOrder), then sends N signed v2 notifications to a notify URL the way WeChat does
(duplicates from several servers, retries on its schedule until a reply acknowledges), writes
every attempt to a JSONL delivery log and prints a summary.

A reply acknowledges only when it is HTTP 2xx with return_code SUCCESS within 5 s.

  --url URL              notify URL (default http://127.0.0.1:8080/wxpay/notify, the gateway that
                         make run serves; nginx in front of it, as in k8s/, listens on 8081)
  --core HOST:PORT       core gRPC address for CreateOrder (default 127.0.0.1:50051)
  --token TOKEN          bearer token for CreateOrder when the core has callers configured
                         (default: the SIMULATE_CORE_TOKEN environment variable, else none)
  --count N              notifications to send (default 100)
  --mix SPEC             kinds and weights, e.g. "unique=70,duplicate=10,concurrent-duplicate=10,forged=10"
                         kinds: ${NOTIFICATION_KINDS.join(', ')}
                         (default ${Object.entries(DEFAULT_MIX)
                           .map(([k, v]) => `${k}=${v}`)
                           .join(',')})
  --schedule NAME|LIST   wechat (default: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m),
                         legacy (15/15/30/180/1800/1800/1800/1800/3600 s), none, or a list "15s,1m,5m"
  --time-scale F         multiply every retry pause by F (default 1; 0.001 runs 24h4m in 86.6 s)
  --reply-timeout-ms MS  how long a reply may take (default ${REPLY_TIMEOUT_MS}, WeChat's)
  --spread-ms MS         spread the first deliveries evenly over MS (default 0: all at once)
  --concurrency N        most requests in flight (default 64)
  --invalid-attempts N   stop retrying invalid notifications after N attempts (default: the schedule)
  --sign-type TYPE       MD5, HMAC-SHA256 or mixed (default mixed)
  --mch-id ID, --appid ID, --key KEY   the merchant (default the demo merchant ${DEMO_MERCHANT.mchId})
  --seed N               makes the plan reproducible (default: the clock)
  --run-id ID            prefix of out_trade_no and transaction_id (default: from the clock)
  --no-create            do not register the orders (every valid notification then finds no order)
  --log FILE             delivery log, JSONL (default simulate-<run id>.jsonl)
  --summary-json FILE    also write the summary as JSON
  --help

Exit status: 0 when every valid notification was acknowledged and no invalid one was; 1 otherwise;
2 for bad options.

Example, a day of WeChat retries in about a minute and a half against make run:
  node dist/tools/cli/simulate.js --count 500 --time-scale 0.001`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080/wxpay/notify' },
      core: { type: 'string', default: '127.0.0.1:50051' },
      token: { type: 'string' },
      count: { type: 'string', default: '100' },
      mix: { type: 'string' },
      schedule: { type: 'string', default: 'wechat' },
      'time-scale': { type: 'string', default: '1' },
      'reply-timeout-ms': { type: 'string', default: String(REPLY_TIMEOUT_MS) },
      'spread-ms': { type: 'string', default: '0' },
      concurrency: { type: 'string', default: '64' },
      'invalid-attempts': { type: 'string' },
      'sign-type': { type: 'string', default: 'mixed' },
      'mch-id': { type: 'string', default: DEMO_MERCHANT.mchId },
      appid: { type: 'string', default: DEMO_MERCHANT.appid },
      key: { type: 'string', default: DEMO_MERCHANT.apiKey },
      seed: { type: 'string' },
      'run-id': { type: 'string' },
      'no-create': { type: 'boolean', default: false },
      log: { type: 'string' },
      'summary-json': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const count = positiveInt(values.count, '--count', true);
  const timeScale = Number(values['time-scale']);
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new UsageError('--time-scale must be a positive number');
  const signType = values['sign-type'];
  if (signType !== 'mixed' && !(V2_SIGN_TYPES as readonly string[]).includes(signType)) {
    throw new UsageError('--sign-type must be MD5, HMAC-SHA256 or mixed');
  }
  let schedule;
  let mix = DEFAULT_MIX;
  try {
    schedule = parseSchedule(values.schedule);
    if (values.mix !== undefined) mix = parseMix(values.mix);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const runId = values['run-id'] ?? newRunId();
  const seed = values.seed === undefined ? Date.now() : positiveInt(values.seed, '--seed', true);
  const plan = planNotifications({
    count,
    mix,
    seed,
    runId,
    signType: signType as V2SignType | 'mixed',
    merchant: { mchId: values['mch-id'], appid: values.appid, apiKey: values.key },
    spreadMs: positiveInt(values['spread-ms'], '--spread-ms', true),
  });
  const logPath = values.log ?? `simulate-${runId}.jsonl`;
  process.stdout.write(
    `run ${runId} (seed ${seed}): ${plan.notifications.length} notifications, ${plan.orders.length} orders\n`,
  );
  process.stdout.write(`schedule ${describeSchedule(schedule, timeScale)}\n`);

  if (!values['no-create']) {
    const registrar = grpcOrderRegistrar(values.core, { token: values.token ?? process.env['SIMULATE_CORE_TOKEN'] });
    try {
      await createOrders(registrar, plan.orders);
    } finally {
      registrar.close();
    }
    process.stdout.write(`created ${plan.orders.length} orders over gRPC at ${values.core}\n`);
  }

  const log = new DeliveryLog(logPath);
  log.write({
    type: 'run',
    at: new Date().toISOString(),
    url: values.url,
    runId,
    seed,
    schedule: schedule.name,
    timeScale,
    notifications: plan.notifications.length,
  });
  const transport = httpTransport();
  try {
    const report = await runSimulation(plan.notifications, {
      url: values.url,
      schedule,
      timeScale,
      transport: transport.send,
      log,
      replyTimeoutMs: positiveInt(values['reply-timeout-ms'], '--reply-timeout-ms'),
      concurrency: positiveInt(values.concurrency, '--concurrency'),
      invalidMaxAttempts:
        values['invalid-attempts'] === undefined
          ? undefined
          : positiveInt(values['invalid-attempts'], '--invalid-attempts'),
    });
    log.write({ type: 'summary', elapsedMs: report.elapsedMs, ...report.summary });
    await log.close();
    if (values['summary-json']) writeFileSync(values['summary-json'], `${JSON.stringify(report.summary, null, 2)}\n`);
    process.stdout.write(
      `${formatSummary(report.summary)}\nfinished in ${(report.elapsedMs / 1000).toFixed(1)} s; log ${logPath}\n`,
    );
    return report.summary.validNotAcknowledged.length === 0 && report.summary.invalidAcknowledged.length === 0 ? 0 : 1;
  } finally {
    transport.close();
  }
}

class UsageError extends Error {}

function positiveInt(text: string, name: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1))
    throw new UsageError(`${name} must be a whole number${allowZero ? '' : ' above 0'}, not ${text}`);
  return n;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`simulate: ${e instanceof Error ? e.message : String(e)}\n`);
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write('try --help\n');
      process.exitCode = 2;
    } else {
      process.exitCode = 1;
    }
  },
);
