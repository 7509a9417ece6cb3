// The operators' console in a real browser: Debian's chromium, driven headless by puppeteer-core,
// against a real core (SQLite) and the real gateway, with the console behind a stand-in for its
// authenticating proxy (the user header, from a trusted address). An order is paid twice with
// different transactions through the gateway; the anomaly shows up, is resolved with a note and
// shows who resolved it; the order's timeline has every step; a payment appears in the live feed.
// Any console error, failed request or error status in the page fails the test. Screenshots go
// to dist/test-artifacts/console/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { readGatewayConfig } from '../../gateway/config';
import { createCoreClient } from '../../gateway/core-client';
import { startGateway, type RunningGateway } from '../../gateway/gateway-server';
import { readConsoleConfig } from '../../src/console/config';
import { createCoreApi, type CoreApi } from '../../src/console/core-api';
import { EventFeed } from '../../src/console/event-feed';
import { startConsole, type RunningConsole } from '../../src/console/server';
import { OrderStatus } from '../../src/gen/payment/callback/v1/payment_callback';
import { createLogger } from '../../src/logger';
import { SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import {
  DEMO,
  HMAC_ONLY,
  newTradeNo,
  paidFields,
  signNotification,
  toNotifyXml,
} from '../../harness/sign-notification';
import { startTestCore, type TestCore } from '../../harness/test-core';
import { waitUntil } from '../../harness/wait-until';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'console');
const OPERATOR = 'alice@example.com';
const TOKENS = {
  gateway: 'gateway-token-0000000000000000000001',
  shop: 'shop-backend-token-000000000000000002',
  console: 'operators-console-token-0000000000003',
} as const;
const CALLERS_JSON = JSON.stringify([
  { name: 'gateway', token: TOKENS.gateway, scopes: ['notify'] },
  { name: 'shop', token: TOKENS.shop, scopes: ['orders'] },
  { name: 'console', token: TOKENS.console, scopes: ['orders', 'queries', 'anomalies', 'events'] },
]);
const quiet = createLogger('test-console', process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent');

let backend: Backend;
let core: TestCore;
let gateway: RunningGateway;
let api: CoreApi;
let feed: EventFeed;
let consoleServer: RunningConsole;
let browser: Browser;
let page: Page;
/** Everything that went wrong inside the page; checked after every test. */
const problems: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  backend = await SQLITE_IN_PROCESS.start();
  core = await startTestCore({
    databaseUrl: backend.databaseUrl,
    token: TOKENS.shop,
    env: { CALLERS_JSON, EVENTS_POLL_MS: '100' },
  });
  const target = `127.0.0.1:${core.port}`;
  gateway = await startGateway(
    readGatewayConfig({
      CORE_GRPC_TARGET: target,
      GATEWAY_LISTEN: '127.0.0.1:0',
      GATEWAY_METRICS_LISTEN: 'off',
      LOG_LEVEL: 'silent',
      CORE_TOKEN: TOKENS.gateway,
    }),
    createCoreClient(target),
    quiet,
  );
  const config = readConsoleConfig({
    CONSOLE_LISTEN: '127.0.0.1:0',
    CONSOLE_CORE_TARGET: target,
    CONSOLE_CORE_TOKEN: TOKENS.console,
    CONSOLE_USER_HEADER: 'X-Forwarded-User',
    CONSOLE_TRUSTED_PROXIES: '127.0.0.1,::1',
    CONSOLE_MCH_IDS: `${DEMO.mchId},${HMAC_ONLY.mchId}`,
    LOG_LEVEL: 'silent',
  });
  api = createCoreApi(config);
  feed = new EventFeed(api, quiet);
  feed.start();
  consoleServer = await startConsole(config, { api, feed, log: quiet });
  // The console's one event stream starts "from now": open before anything is paid.
  await waitUntil("the console's event stream to be live", 10_000, () => feed.state === 'live');

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  // What oauth2-proxy would add after signing the operator in.
  await page.setExtraHTTPHeaders({ 'X-Forwarded-User': OPERATOR });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('dialog', (d) => {
    problems.push(`a dialog opened (script injection?): ${d.message()}`);
    void d.dismiss();
  });
  page.on('requestfailed', (r) => {
    // Leaving a page closes its EventSource, which Chromium reports as an aborted request.
    if (r.url().includes('/events/stream') && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? '?'}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  process.stdout.write(`# console screenshots: ${ARTIFACTS}\n`);
});

after(async () => {
  await browser?.close();
  await consoleServer?.close();
  feed?.stop();
  api?.close();
  await gateway?.shutdown();
  await core?.stop();
  await backend?.dispose();
});

afterEach(() => {
  assert.deepEqual(problems.splice(0), [], 'the page logged errors or had failed requests');
});

/** A v2 payment notification through the real gateway, as WeChat sends it. */
async function payThroughGateway(tradeNo: string, transactionId: string): Promise<void> {
  const xml = toNotifyXml(signNotification(paidFields(tradeNo, { transaction_id: transactionId }), DEMO.key));
  const res = await fetch(`http://127.0.0.1:${gateway.port}/wxpay/notify`, {
    method: 'POST',
    body: xml,
    headers: { 'content-type': 'text/xml' },
    signal: AbortSignal.timeout(10_000),
  });
  const reply = await res.text();
  assert.equal(res.status, 200, reply);
  assert.match(reply, /<return_code><!\[CDATA\[SUCCESS\]\]><\/return_code>/);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Evaluated in the page, where `el` is a DOM element (tsconfig has no DOM types).
const textOf = (selector: string): Promise<string> =>
  page.$eval(selector, (el: { textContent: string | null }) => el.textContent ?? '');

const url = (path: string): string => new URL(path, consoleServer.url).toString();

describe("the operators' console in Chromium", () => {
  const paidTwice = newTradeNo('CON');
  const firstTxn = `4200${paidTwice}A`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0');
  const secondTxn = `4200${paidTwice}B`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0');
  // What an operator might type; it must come back as text, never as markup.
  const note = 'Refunded the second payment <img src=x onerror=alert(1)> & told the shop';

  test('a double payment through the gateway appears as an open anomaly', async () => {
    await core.createOrder({ outTradeNo: paidTwice, totalFee: 100 });
    await payThroughGateway(paidTwice, firstTxn);
    await payThroughGateway(paidTwice, secondTxn);

    await page.goto(url('/anomalies'), { waitUntil: 'load' });
    const row = `tr[data-anomaly]:has(a[href$="/${paidTwice}"])`;
    await page.waitForSelector(row);
    const text = await textOf(row);
    assert.match(text, /CONFLICTING_TRANSACTION/);
    assert.ok(text.includes(secondTxn), text);
    assert.equal(await textOf('header .who'), OPERATOR);
    await shot('01-anomalies-open');
  });

  test('resolving it with a note records the operator, and the note stays text', async () => {
    const row = `tr[data-anomaly]:has(a[href$="/${paidTwice}"])`;
    await page.type(`${row} textarea[name=note]`, note);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(`${row} button`)]);

    assert.match(page.url(), /state=resolved/);
    assert.match(await textOf('.flash'), new RegExp(`resolved by ${OPERATOR}`));
    const resolved = `tr[data-anomaly]:has(a[href$="/${paidTwice}"])`;
    assert.equal((await textOf(`${resolved} .who-resolved`)).trim(), `by ${OPERATOR}`);
    assert.equal((await textOf(`${resolved} .note`)).trim(), note);
    assert.equal(await page.$(`${resolved} img`), null, 'the note became markup');
    await shot('02-anomalies-resolved');

    // What the core recorded: the console's caller, and the operator at the head of the note.
    const anomalies = await api.listAnomalies({ mchId: DEMO.mchId, includeResolved: true });
    const recorded = anomalies.anomalies.find((a) => a.outTradeNo === paidTwice);
    assert.equal(recorded?.resolvedBy, 'console');
    assert.equal(recorded?.resolutionNote, `operator ${OPERATOR}: ${note}`);
  });

  test("the order's timeline shows the order, both notifications, the event and the anomaly", async () => {
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click(`tr[data-anomaly] a[href$="/${paidTwice}"]`),
    ]);
    assert.equal(await textOf('#order-status'), 'PAID');
    const timeline = await textOf('#timeline');
    for (const expected of [
      'ORDER REGISTERED',
      'CONFLICTING_PAYMENT',
      'ANOMALY CONFLICTING_TRANSACTION',
      'ANOMALY RESOLVED',
      'EVENT ORDER_PAID',
      firstTxn,
      secondTxn,
    ]) {
      assert.ok(timeline.includes(expected), `the timeline lacks ${expected}:\n${timeline}`);
    }
    assert.match(timeline, /PAID\s*PAYMENT_V2 notification/);
    // Oldest first: what happened, in the order it happened.
    const at = (s: string): number => timeline.indexOf(s);
    assert.ok(
      at('ORDER REGISTERED') < at('CONFLICTING_PAYMENT') && at('CONFLICTING_PAYMENT') < at('ANOMALY RESOLVED'),
      timeline,
    );
    assert.ok(at('EVENT ORDER_PAID') < at('EVENT ANOMALY_RAISED'), timeline);
    await shot('03-order-timeline');
  });

  test('search finds the order by out_trade_no, and by transaction_id from what the console saw', async () => {
    await page.goto(url('/'), { waitUntil: 'load' });
    await page.type('header input[name=q]', paidTwice);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('header form.search button')]);
    assert.equal(new URL(page.url()).pathname, `/orders/${DEMO.mchId}/${paidTwice}`);

    await page.select('header select[name=by]', 'transaction_id');
    await page.type('header input[name=q]', firstTxn);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('header form.search button')]);
    assert.equal(new URL(page.url()).pathname, `/orders/${DEMO.mchId}/${paidTwice}`);
  });

  test('a payment appears in the live feed without reloading', async () => {
    await page.goto(url('/events'), { waitUntil: 'load' });
    await page.waitForSelector('body[data-live="live"]');
    const fresh = newTradeNo('LIVE');
    await core.createOrder({ outTradeNo: fresh, totalFee: 100 });
    const order = await core.getOrder(fresh);
    assert.equal(order.order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
    await payThroughGateway(fresh, `4200${fresh}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'));
    // Evaluated in the page (tsconfig has no DOM types, hence a string): a row added by the
    // page's script from the server-sent event, since the page was loaded before the payment.
    await page.waitForFunction(
      `[...document.querySelectorAll('#events tr.fresh')].some((tr) => tr.textContent.includes(${JSON.stringify(fresh)}) && tr.textContent.includes('ORDER_PAID'))`,
      { timeout: 10_000 },
    );
    await shot('04-live-feed');
  });

  test('the overview and the health summary', async () => {
    await page.goto(url('/'), { waitUntil: 'load' });
    assert.equal(await textOf('#open-anomalies'), '0');
    assert.match(await textOf('header .dot'), /core serving/);
    await shot('05-overview');
    await page.goto(url('/health'), { waitUntil: 'load' });
    const health = await textOf('table.kv');
    assert.match(health, /payment\.callback\.v1\.PaymentCallbackSERVING/);
    assert.match(health, /event streamlive/);
    await shot('06-health');
  });

  test('outside the browser: no user header, a foreign form or a missing token change nothing', async () => {
    const anomalies = await api.listAnomalies({ mchId: DEMO.mchId, includeResolved: true });
    const id = anomalies.anomalies[0]?.id ?? '1';
    const post = (headers: Record<string, string>, body: string): Promise<Response> =>
      fetch(url(`/anomalies/${id}/resolve`), {
        method: 'POST',
        redirect: 'manual',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    assert.equal((await fetch(url('/anomalies'))).status, 401, 'no X-Forwarded-User from the proxy');
    assert.equal((await post({ 'x-forwarded-user': OPERATOR }, 'note=x')).status, 403, 'no CSRF token');
    assert.equal(
      (await post({ 'x-forwarded-user': OPERATOR, 'sec-fetch-site': 'cross-site' }, 'note=x&csrf=x')).status,
      403,
      "another site's form",
    );
    assert.equal(
      (await fetch(url('/static/console.js'))).headers.get('content-type'),
      'text/javascript; charset=utf-8',
    );
    const pageRes = await fetch(url('/'), { headers: { 'x-forwarded-user': OPERATOR } });
    assert.match(pageRes.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });
});
