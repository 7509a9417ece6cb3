// `make notify` (src/cli/notify.ts) against a real core and gateway (processes, SQLite) that run
// on the demo configuration make run uses, config/demo-merchants.json: v2 and APIv3 payments,
// v2 and v3 refunds, and the errors a person sees.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEMO_V3_KEY_DIR, DEMO_V3_MERCHANT, ensureDemoV3Keys } from '../../tools/cli/demo-v3-merchant';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../../harness/service-processes';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(__dirname, '..', '..', 'tools', 'cli', 'notify.js');

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * config/demo-merchants.json with its key files moved to `keyDir`: every *_file the demo config
 * names must be one of the files make run generates under data/demo-merchant-v3/.
 */
function demoMerchantsIn(keyDir: string): string {
  const text = readFileSync(path.join(ROOT, 'config', 'demo-merchants.json'), 'utf8');
  const named: string[] = [];
  const moved = JSON.parse(text, (key: string, value: unknown) => {
    if (key.endsWith('_file') && typeof value === 'string') {
      named.push(value);
      assert.equal(path.dirname(value), DEMO_V3_KEY_DIR, `${value} is not where make run generates the demo keys`);
      return path.join(keyDir, path.basename(value));
    }
    return value;
  }) as Record<string, unknown>;
  assert.ok(named.length >= 3, "the demo config names the v3 merchant's generated key files");
  delete moved['$schema'];
  return JSON.stringify(moved);
}

describe('node dist/tools/cli/notify.js', () => {
  test('--help describes --api and --refund', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const word of [
      '--api v2|v3',
      '--refund FEN',
      '--refund-status',
      '--no-pay',
      '--keys-dir',
      DEMO_V3_MERCHANT.mchId,
    ])
      assert.ok(r.stdout.includes(word), word);
  });
  for (const [args, message] of [
    [['--api', 'v4'], /--api must be v2 or v3/],
    [['--refund', '1.5'], /--refund must be a whole number of fen/],
    [['--nope'], /Unknown option '--nope'/],
  ] as const) {
    test(`${args.join(' ')}: exit 1 with a message`, async () => {
      const r = await run(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /try --help\n$/);
    });
  }

  describe('against a core and a gateway on the demo merchants', () => {
    let dir: string;
    let keyDir: string;
    let core: ServiceProcess;
    let gateway: ServiceProcess;
    let common: string[];
    before(async () => {
      dir = await makeTempDir('notify-cli');
      keyDir = path.join(dir, 'keys');
      const first = ensureDemoV3Keys(keyDir);
      assert.equal(first.created, true);
      core = await startCoreProcess({
        DATABASE_URL: `sqlite:${dir}/db.sqlite`,
        MERCHANTS_JSON: demoMerchantsIn(keyDir),
      });
      gateway = await startGatewayProcess(core.port);
      common = ['--core', `127.0.0.1:${core.port}`, '--gateway', `http://127.0.0.1:${gateway.port}/wxpay/notify`];
    });
    after(async () => {
      await gateway?.stop();
      await core?.stop();
      if (dir) await removeTempDir(dir);
    });

    test('the demo v3 keys are private files, generated once', () => {
      for (const f of ['api_key', 'apiv3_key', 'wechatpay_private_key.pem', 'wechatpay_public_key.pem']) {
        assert.equal(statSync(path.join(keyDir, f)).mode & 0o077, 0, `${f} is readable by others`);
      }
      const again = ensureDemoV3Keys(keyDir);
      assert.equal(again.created, false);
      assert.equal(again.keys.apiV3Key.length, 32);
    });

    test('v2: a payment, then --refund 50 credits 50 fen of 100', async () => {
      const r = await run([...common, '--refund', '50']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^order {4}\S+: 100 fen, ORDER_STATUS_NOTPAY$/m);
      assert.match(r.stdout, /^payment .*\/wxpay\/notify: HTTP 200 .*SUCCESS/m);
      assert.match(r.stdout, /^refund {2}.*\/wxpay\/refund\/notify: HTTP 200 .*SUCCESS/m);
      assert.match(r.stdout, /ORDER_STATUS_PAID, transaction \S+, paid at \S+, refunded 50 of 100 fen$/m);
    });

    test('v2: HMAC-SHA256 and an amount mismatch still work as before', async () => {
      const r = await run([...common, '--total-fee', '100', '--paid-fee', '99', '--sign-type', 'HMAC-SHA256']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^payment .*HTTP 409 .*FAIL/m);
      assert.match(r.stdout, /: ORDER_STATUS_NOTPAY$/m);
    });

    test('--api v3: the v3 demo merchant is paid with a signed TRANSACTION.SUCCESS', async () => {
      const r = await run([...common, '--api', 'v3', '--keys-dir', keyDir]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^payment .*\/wxpay\/v3\/notify: HTTP 204$/m);
      assert.match(r.stdout, /ORDER_STATUS_PAID, transaction \S+, paid at \S+$/m);
    });

    test('--api v3 --refund 30: REFUND.SUCCESS credits 30 fen', async () => {
      const r = await run([...common, '--api', 'v3', '--keys-dir', keyDir, '--refund', '30', '--total-fee', '80']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^refund {2}.*\/wxpay\/v3\/notify: HTTP 204$/m);
      assert.match(r.stdout, /refunded 30 of 80 fen$/m);
    });

    test('--no-create --no-pay --refund: a second refund of an order paid earlier', async () => {
      const outTradeNo = `cli${Date.now()}`;
      assert.equal((await run([...common, '--out-trade-no', outTradeNo, '--total-fee', '100'])).code, 0);
      const r = await run([...common, '--out-trade-no', outTradeNo, '--no-create', '--no-pay', '--refund', '40']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.doesNotMatch(r.stdout, /^payment/m);
      assert.match(r.stdout, /refunded 40 of 100 fen$/m);
    });

    test('a refund of an unpaid order stops before sending anything', async () => {
      const r = await run([...common, '--no-pay', '--refund', '10']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /only a paid order can be refunded/);
    });

    test('--api v3 without the generated keys says to run make run', async () => {
      const r = await run([...common, '--api', 'v3', '--keys-dir', path.join(dir, 'missing')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /generated by `make run` on its first start/);
    });
  });
});
