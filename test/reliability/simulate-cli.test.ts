// The simulator's command line (tools/cli/simulate.ts) against a real core and gateway (processes,
// SQLite): it registers the orders over gRPC, sends the mix, writes the JSONL delivery log,
// prints the summary and exits 0 only when every valid notification was acknowledged.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import knex, { type Knex } from 'knex';
import { parseLogLines } from '../../tools/simulator/delivery-log';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../../harness/service-processes';
import { TEST_MERCHANTS_JSON } from '../../harness/sign-notification';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';

const CLI = path.join(__dirname, '..', '..', 'tools', 'cli', 'simulate.js');

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('node dist/tools/cli/simulate.js', () => {
  test('--help describes the options and the exit status', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const word of [
      '--count',
      '--mix',
      '--schedule',
      '--time-scale',
      '--log',
      'legacy',
      '24h4m',
      'return_code SUCCESS within 5 s',
    ])
      assert.ok(r.stdout.includes(word), word);
  });
  for (const bad of [
    ['--count', 'x'],
    ['--time-scale', '0'],
    ['--mix', 'refund=1'],
    ['--schedule', 'weekly'],
    ['--sign-type', 'SHA1'],
    ['--nope'],
  ]) {
    test(`${bad.join(' ')}: exit 2 with a message`, async () => {
      const r = await run(bad);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^simulate: .+\ntry --help\n$/);
    });
  }

  describe('against a core and a gateway', () => {
    let dir: string;
    let core: ServiceProcess;
    let gateway: ServiceProcess;
    let db: Knex;
    before(async () => {
      dir = await makeTempDir('simulate-cli');
      core = await startCoreProcess({ DATABASE_URL: `sqlite:${dir}/db.sqlite`, MERCHANTS_JSON: TEST_MERCHANTS_JSON });
      gateway = await startGatewayProcess(core.port);
      db = knex({
        client: 'better-sqlite3',
        connection: { filename: `${dir}/db.sqlite` },
        useNullAsDefault: true,
        pool: { min: 1, max: 1 },
      });
    });
    after(async () => {
      await db?.destroy();
      await gateway?.stop();
      await core?.stop();
      if (dir) await removeTempDir(dir);
    });

    test('60 notifications of every kind: exit 0, a summary, one log line per attempt, the orders paid', async () => {
      const log = `${dir}/log.jsonl`;
      const r = await run([
        '--url',
        `http://127.0.0.1:${gateway.port}/wxpay/notify`,
        '--core',
        `127.0.0.1:${core.port}`,
        '--count',
        '60',
        '--seed',
        '42',
        '--run-id',
        'CLI1',
        '--time-scale',
        '0.001',
        '--invalid-attempts',
        '2',
        '--log',
        log,
        '--summary-json',
        `${dir}/summary.json`,
      ]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /valid not acknowledged 0, invalid acknowledged 0/);
      assert.match(r.stdout, /by kind:/);
      const lines = parseLogLines(readFileSync(log, 'utf8'));
      const summary = JSON.parse(readFileSync(`${dir}/summary.json`, 'utf8')) as {
        attempts: number;
        deliveries: number;
        notifications: number;
      };
      assert.equal(lines[0]?.type, 'run');
      assert.equal(lines.filter((l) => l.type === 'attempt').length, summary.attempts);
      assert.equal(lines.filter((l) => l.type === 'delivery').length, summary.deliveries);
      assert.equal(lines[lines.length - 1]?.type, 'summary');
      assert.equal(summary.notifications, 60);
      const paid = (await db('orders')
        .where({ status: 'PAID' })
        .whereLike('out_trade_no', 'CLI1%')
        .count({ n: '*' })
        .first()) as { n: number };
      const events = (await db('payment_events')
        .where({ type: 'ORDER_PAID' })
        .whereLike('out_trade_no', 'CLI1%')
        .count({ n: '*' })
        .first()) as { n: number };
      assert.ok(Number(paid.n) > 30);
      assert.equal(Number(events.n), Number(paid.n));
    });

    test('--no-create: valid notifications find no order, are never acknowledged: exit 1', async () => {
      const r = await run([
        '--url',
        `http://127.0.0.1:${gateway.port}/wxpay/notify`,
        '--no-create',
        '--count',
        '3',
        '--mix',
        'unique=1',
        '--run-id',
        'CLI2',
        '--schedule',
        '15s,15s',
        '--time-scale',
        '0.001',
        '--log',
        `${dir}/log2.jsonl`,
      ]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /delivered 0, given up 3, attempts 9/);
      assert.match(r.stdout, /HTTP 404 x9/);
    });
  });
});
