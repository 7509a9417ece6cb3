// Reloading merchants without a restart, on the real core process (node dist/src/main.js): SIGHUP
// re-reads MERCHANTS_FILE and the key files it names and swaps the merchants at once; a file with
// problems keeps the merchants in force and logs every problem; MERCHANTS_RELOAD_INTERVAL_MS does
// the same by polling.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata } from '@grpc/grpc-js';
import {
  NotifyOutcome,
  PaymentCallbackClient,
  type HandleNotifyResponse,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { startCoreProcess, type ServiceProcess } from '../../harness/service-processes';
import { DEMO, newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';
import { waitUntil } from '../../harness/wait-until';

const O = NotifyOutcome;
const NEW = { mchId: '1900000500', appid: 'wxreload000000001', key: 'Reload0hijklmnopqrstuvwxyz012345' };
const DEMO_KEY_2 = 'Demo2efghijklmnopqrstuvwxyz01234';

function client(port: number): PaymentCallbackClient {
  return new PaymentCallbackClient(`127.0.0.1:${port}`, credentials.createInsecure());
}

function call<T>(invoke: (cb: (err: Error | null, res?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    invoke((err, res) => (err || res === undefined ? reject(err ?? new Error('empty')) : resolve(res))),
  );
}

/** Registers an order and sends its signed payment notification. */
async function pay(
  c: PaymentCallbackClient,
  merchant: { mchId: string; appid: string },
  key: string,
  register = true,
): Promise<HandleNotifyResponse> {
  const tradeNo = newTradeNo('H');
  const deadline = { deadline: Date.now() + 5_000 };
  if (register) {
    await call((cb) =>
      c.createOrder(
        { mchId: merchant.mchId, appid: merchant.appid, outTradeNo: tradeNo, totalFee: 100, feeType: 'CNY' },
        new Metadata(),
        deadline,
        cb,
      ),
    );
  }
  const fields = signNotification(paidFields(tradeNo, { mch_id: merchant.mchId, appid: merchant.appid }), key);
  return call((cb) =>
    c.handleNotify(
      { fields, rawBody: Buffer.from('{}'), caller: { clientIp: '203.0.113.7', requestId: 'reload' } },
      new Metadata(),
      deadline,
      cb,
    ),
  );
}

const demoEntry = (file: string): Record<string, unknown> => ({
  mch_id: DEMO.mchId,
  appids: [DEMO.appid],
  api_key_file: file,
});
const newEntry = { mch_id: NEW.mchId, appids: [NEW.appid], api_key: NEW.key };

describe('SIGHUP', () => {
  let dir: string;
  let core: ServiceProcess;
  let grpc: PaymentCallbackClient;
  let merchantsFile: string;
  let demoKeyFile: string;
  before(async () => {
    dir = await makeTempDir('reload');
    merchantsFile = join(dir, 'merchants.json');
    demoKeyFile = join(dir, 'demo.key');
    writeFileSync(demoKeyFile, `${DEMO.key}\n`);
    writeFileSync(merchantsFile, JSON.stringify({ merchants: [demoEntry(demoKeyFile)] }));
    core = await startCoreProcess({
      DATABASE_URL: `sqlite:${join(dir, 'core.sqlite')}`,
      MERCHANTS_FILE: merchantsFile,
    });
    grpc = client(core.port);
  });
  after(async () => {
    grpc?.close();
    await core?.stop();
    if (dir) await removeTempDir(dir);
  });

  const hup = (): void => core.process?.signal('SIGHUP');

  test('a merchant added to MERCHANTS_FILE is served after SIGHUP, without a restart', async () => {
    const pid = core.process?.pid;
    assert.deepEqual([(await pay(grpc, NEW, NEW.key, false)).outcome], [O.NOTIFY_OUTCOME_REJECTED]);
    writeFileSync(merchantsFile, JSON.stringify({ merchants: [demoEntry(demoKeyFile), newEntry] }));
    hup();
    await waitUntil('the reload', 10_000, () => core.process?.outputIncludes('merchants reloaded') ?? false, {
      details: () => core.output(),
    });
    assert.equal((await pay(grpc, NEW, NEW.key)).outcome, O.NOTIFY_OUTCOME_PAID);
    assert.equal(core.process?.pid, pid, 'the same process');
  });

  test('a rotated key file: after SIGHUP the new key verifies and the old one no longer does', async () => {
    assert.equal((await pay(grpc, DEMO, DEMO.key)).outcome, O.NOTIFY_OUTCOME_PAID);
    writeFileSync(demoKeyFile, `${DEMO_KEY_2}\n`);
    hup();
    await waitUntil(
      'the new key',
      10_000,
      async () => (await pay(grpc, DEMO, DEMO_KEY_2)).outcome === O.NOTIFY_OUTCOME_PAID,
      { details: () => core.output() },
    );
    const old = await pay(grpc, DEMO, DEMO.key);
    assert.deepEqual([old.outcome, old.code], [O.NOTIFY_OUTCOME_REJECTED, 'INVALID_SIGNATURE']);
  });

  test('a broken file: every problem logged, the merchants in force kept', async () => {
    writeFileSync(
      merchantsFile,
      JSON.stringify({
        merchants: [
          { ...newEntry, api_key: 'short' },
          { ...demoEntry(demoKeyFile), mch_id: 'not-digits' },
        ],
      }),
    );
    hup();
    await waitUntil(
      'the failed reload',
      10_000,
      () => core.process?.outputIncludes('merchant reload failed') ?? false,
      { details: () => core.output() },
    );
    const output = core.output();
    assert.match(output, /the API key must be 32 letters or digits \(it has 5 characters\)/);
    assert.match(output, /mch_id must be a string of digits/);
    assert.ok(!output.includes(DEMO_KEY_2) && !output.includes(NEW.key), 'no key in the log');
    assert.equal((await pay(grpc, NEW, NEW.key)).outcome, O.NOTIFY_OUTCOME_PAID);
    assert.equal((await pay(grpc, DEMO, DEMO_KEY_2)).outcome, O.NOTIFY_OUTCOME_PAID);
    assert.ok(core.process?.running, 'a bad reload does not stop the core');
  });
});

describe('MERCHANTS_RELOAD_INTERVAL_MS', () => {
  test('a merchant added to the file is picked up by polling', async () => {
    const dir = await makeTempDir('reload-poll');
    const merchantsFile = join(dir, 'merchants.json');
    writeFileSync(merchantsFile, JSON.stringify([{ mch_id: DEMO.mchId, appids: [DEMO.appid], api_key: DEMO.key }]));
    const core = await startCoreProcess({
      DATABASE_URL: `sqlite:${join(dir, 'core.sqlite')}`,
      MERCHANTS_FILE: merchantsFile,
      MERCHANTS_RELOAD_INTERVAL_MS: '1000',
    });
    const grpc = client(core.port);
    try {
      assert.equal((await pay(grpc, NEW, NEW.key, false)).outcome, O.NOTIFY_OUTCOME_REJECTED);
      writeFileSync(
        merchantsFile,
        JSON.stringify([{ mch_id: DEMO.mchId, appids: [DEMO.appid], api_key: DEMO.key }, newEntry]),
      );
      await waitUntil('the polled reload', 10_000, () => core.process?.outputIncludes('merchants reloaded') ?? false, {
        details: () => core.output(),
      });
      assert.equal((await pay(grpc, NEW, NEW.key)).outcome, O.NOTIFY_OUTCOME_PAID);
    } finally {
      grpc.close();
      await core.stop();
      await removeTempDir(dir);
    }
  });
});
