import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { Anomaly, NotificationSummary, PaymentEvent } from '../gen/payment/callback/v1/payment_callback';
import { formatListenAddress } from '../env-reader';
import type { Logger } from '../logger';
import { CONSOLE_CSS, CONSOLE_JS } from './assets';
import type { ConsoleConfig } from './config';
import { allAnomalies, CoreCallError, type CoreApi, type HealthReport } from './core-api';
import type { EventFeed } from './event-feed';
import { eventView } from './format';
import { href, html, type Html } from './html';
import { CsrfTokens, operatorOf, resolutionNote } from './operator';
import {
  anomaliesPage,
  errorPage,
  feedPage,
  healthPage,
  orderPage,
  overviewPage,
  searchPage,
  type FeedBox,
  type Frame,
} from './pages';

export interface RunningConsole {
  readonly port: number;
  /** e.g. http://127.0.0.1:8090/ */
  readonly url: string;
  close(): Promise<void>;
}

export interface ConsoleDeps {
  readonly api: CoreApi;
  readonly feed: EventFeed;
  readonly log: Logger;
}

const MAX_NOTE = 1_500;
const MAX_SSE_CLIENTS = 200;
const MCH_ID = /^\d{1,32}$/;
// WeChat's out_trade_no: up to 32 of letters, digits, _-|*; a little wider so odd ones can still be looked up.
const TRADE_NO = /^[\x21-\x7e]{1,64}$/;

/** Headers every answer carries: no framing, no sniffing, scripts only from this origin. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

/** An HTTP answer for a failed core call: the gRPC code mapped once, here. */
function httpStatusOf(code: status): number {
  switch (code) {
    case status.NOT_FOUND:
      return 404;
    case status.INVALID_ARGUMENT:
      return 400;
    case status.FAILED_PRECONDITION:
      return 409; // e.g. the anomaly was already resolved
    case status.PERMISSION_DENIED:
      return 403; // the console's caller lacks a scope or merchant
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return 503; // the core is down or slow
    default:
      return 502; // UNAUTHENTICATED (the console's token is wrong), INTERNAL, ...
  }
}

function explain(e: CoreCallError): string {
  switch (e.code) {
    case status.PERMISSION_DENIED:
      return `The core refused ${e.method} to the console's caller: ${e.details}. Give the console's caller the scopes orders, queries, anomalies and events.`;
    case status.UNAUTHENTICATED:
      return `The core does not accept the console's token (${e.details}): check CONSOLE_CORE_TOKEN_FILE against the core's callers.`;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return `The core did not answer ${e.method} (${status[e.code]}: ${e.details}). See the Health page.`;
    default:
      return `${e.method}: ${e.details}`;
  }
}

export function startConsole(config: ConsoleConfig, deps: ConsoleDeps): Promise<RunningConsole> {
  const { api, feed, log } = deps;
  const csrf = new CsrfTokens();
  const sseClients = new Set<ServerResponse>();
  let healthCache: { at: number; report: Promise<HealthReport> } | undefined;
  const health = (fresh = false): Promise<HealthReport> => {
    if (fresh || !healthCache || Date.now() - healthCache.at > 3_000)
      healthCache = { at: Date.now(), report: api.health() };
    return healthCache.report;
  };
  const feedBox = (): FeedBox => ({ state: feed.state, lastError: feed.lastError, lastEventAt: feed.lastEventAt });

  const send = (res: ServerResponse, code: number, page: Html, extra: Record<string, string> = {}): void => {
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...extra });
    res.end(page.text);
  };
  const redirect = (res: ServerResponse, location: string): void => {
    res.writeHead(303, { ...SECURITY_HEADERS, location });
    res.end();
  };

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (method === 'GET' && path === '/static/console.js') {
      res
        .writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'max-age=300',
        })
        .end(CONSOLE_JS);
      return;
    }
    if (method === 'GET' && path === '/static/console.css') {
      res
        .writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/css; charset=utf-8',
          'cache-control': 'max-age=300',
        })
        .end(CONSOLE_CSS);
      return;
    }

    const who = operatorOf(req, config.identity);
    if (!who.ok) {
      res
        .writeHead(who.status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' })
        .end(`${who.message}\n`);
      return;
    }
    const operator = who.operator;
    const frame = async (active: Frame['active'], fresh = false): Promise<Frame> => ({
      operator,
      health: await health(fresh),
      active,
    });
    const fail = async (code: number, title: string, message: string): Promise<void> =>
      send(res, code, errorPage(await frame('overview'), title, message));

    try {
      if (method === 'POST') {
        const m = /^\/anomalies\/([^/]+)\/resolve$/.exec(path);
        if (!m) return await fail(404, 'Not found', `Nothing to post to at ${path}.`);
        return await resolve(req, res, decodeURIComponent(m[1] ?? ''), operator, requestId, fail);
      }
      if (method !== 'GET' && method !== 'HEAD')
        return await fail(405, 'Method not allowed', `${method} is not used here.`);

      if (path === '/') {
        const [open, f] = await Promise.all([api.listAnomalies({ pageSize: 500 }, requestId), frame('overview')]);
        return send(
          res,
          200,
          overviewPage(f, {
            openAnomalies: open.anomalies.length,
            moreAnomalies: open.nextPageToken !== '',
            feed: feedBox(),
            recent: feed.recent().map(eventView),
          }),
        );
      }
      if (path === '/anomalies') {
        const state = url.searchParams.get('state') === 'resolved' ? 'resolved' : 'open';
        const mchId = (url.searchParams.get('mch_id') ?? '').trim();
        if (mchId !== '' && !MCH_ID.test(mchId)) return await fail(400, 'Bad merchant', 'mch_id is digits only.');
        const pageToken = url.searchParams.get('page_token') ?? '';
        const list = await api.listAnomalies(
          { mchId, includeResolved: state === 'resolved', pageSize: 100, pageToken: pageToken.slice(0, 200) },
          requestId,
        );
        const resolvedId = url.searchParams.get('resolved');
        return send(
          res,
          200,
          anomaliesPage(await frame('anomalies'), {
            state,
            anomalies: state === 'resolved' ? list.anomalies.filter((a) => a.resolved) : list.anomalies,
            nextPageToken: list.nextPageToken,
            mchId,
            csrf: csrf.tokenFor(operator),
            flash:
              resolvedId && /^\d{1,15}$/.test(resolvedId)
                ? `Anomaly ${resolvedId} resolved by ${operator}.`
                : undefined,
          }),
        );
      }
      const order = /^\/orders\/([^/]+)\/([^/]+)$/.exec(path);
      if (order) {
        const mchId = decodeURIComponent(order[1] ?? '');
        const outTradeNo = decodeURIComponent(order[2] ?? '');
        if (!MCH_ID.test(mchId) || !TRADE_NO.test(outTradeNo))
          return await fail(400, 'Bad order reference', 'An order is /orders/<mch_id>/<out_trade_no>.');
        return send(res, 200, await timeline(mchId, outTradeNo, requestId, await frame('order')));
      }
      if (path === '/search') return await search(url, res, requestId, await frame('search'));
      if (path === '/events')
        return send(res, 200, feedPage(await frame('feed'), { feed: feedBox(), recent: feed.recent().map(eventView) }));
      if (path === '/events/stream') return stream(req, res, url);
      if (path === '/health') {
        return send(
          res,
          200,
          healthPage(await frame('health', true), {
            feed: feedBox(),
            target: config.coreTarget,
            tokenConfigured: config.coreToken !== undefined,
            identity:
              config.identity.kind === 'local'
                ? `this machine only: everyone who reaches ${formatListenAddress(config.listen)} is ${config.identity.localOperator}`
                : `the ${config.identity.userHeader} header, from ${config.identity.trustedProxies.join(', ')} only`,
          }),
        );
      }
      return await fail(404, 'Not found', `There is no page at ${path}.`);
    } catch (e) {
      if (e instanceof CoreCallError) {
        log.warn(
          { request_id: requestId, method: e.method, grpc_code: status[e.code], details: e.details },
          'core call failed',
        );
        return await fail(
          httpStatusOf(e.code),
          e.code === status.NOT_FOUND ? 'Not found' : 'The core refused',
          explain(e),
        );
      }
      throw e;
    }
  }

  async function resolve(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    operator: string,
    requestId: string,
    fail: (code: number, title: string, message: string) => Promise<void>,
  ): Promise<void> {
    // A form on another site cannot post here: browsers say where a request comes from, and the
    // token below is one such a site cannot read.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none')
      return fail(403, 'Refused', 'A change must come from a page of this console.');
    const origin = req.headers.origin;
    if (site === undefined && origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) {
      return fail(403, 'Refused', 'A change must come from a page of this console.');
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return fail(415, 'Unsupported', 'Post the form.');
    const body = await readBody(req, 16 * 1024);
    if (body === undefined) return fail(413, 'Too large', 'The form is too large.');
    const form = new URLSearchParams(body);
    if (!csrf.verify(operator, form.get('csrf') ?? undefined)) {
      return fail(
        403,
        'Refused',
        'The form has expired or was not made by this console for you: reload the page and try again.',
      );
    }
    if (!/^[1-9]\d{0,14}$/.test(id))
      return fail(400, 'Bad anomaly id', 'An anomaly id is a number from the anomalies list.');
    const note = (form.get('note') ?? '').trim();
    if (note === '' || note.length > MAX_NOTE)
      return fail(400, 'A note is needed', `Say what was done (1 to ${MAX_NOTE} characters).`);
    const mchId = form.get('mch_id') ?? '';
    const resolved = await api.resolveAnomaly(id, resolutionNote(operator, note), requestId);
    log.info(
      {
        request_id: requestId,
        operator,
        anomaly: id,
        kind: resolved.anomaly?.kind,
        mch_id: resolved.anomaly?.mchId,
        out_trade_no: resolved.anomaly?.outTradeNo,
      },
      'anomaly resolved',
    );
    return redirect(
      res,
      href(['anomalies'], { state: 'resolved', resolved: id, mch_id: MCH_ID.test(mchId) ? mchId : undefined }),
    );
  }

  async function timeline(mchId: string, outTradeNo: string, requestId: string, f: Frame): Promise<Html> {
    const [order, notifications, anomalies] = await Promise.all([
      api.getOrder(mchId, outTradeNo, requestId).then(
        (r) => r.order,
        (e: unknown) => {
          if (e instanceof CoreCallError && e.code === status.NOT_FOUND) return undefined;
          throw e;
        },
      ),
      (async () => {
        const all: NotificationSummary[] = [];
        let pageToken = '';
        do {
          const page = await api.listNotifications({ mchId, outTradeNo, pageSize: 500, pageToken }, requestId);
          all.push(...page.notifications);
          pageToken = page.nextPageToken;
        } while (pageToken !== '' && all.length < 2_000);
        return { all, truncated: pageToken !== '' };
      })(),
      allAnomalies(api, mchId),
    ]);
    const events = feed
      .recent()
      .filter((e) => e.mchId === mchId && e.outTradeNo === outTradeNo)
      .map(eventView);
    return orderPage(f, {
      mchId,
      outTradeNo,
      order,
      notifications: notifications.all,
      notificationsTruncated: notifications.truncated,
      anomalies: anomalies.anomalies.filter((a) => a.outTradeNo === outTradeNo),
      anomaliesTruncated: anomalies.truncated,
      events,
    });
  }

  async function search(url: URL, res: ServerResponse, requestId: string, f: Frame): Promise<void> {
    const q = (url.searchParams.get('q') ?? '').trim();
    const by = url.searchParams.get('by') === 'transaction_id' ? 'transaction_id' : 'out_trade_no';
    if (!TRADE_NO.test(q))
      return send(
        res,
        400,
        searchPage(f, {
          by,
          q,
          message: html`Enter an out_trade_no or a transaction_id (up to 64 characters).`,
          anomalies: [],
          events: [],
        }),
      );
    if (by === 'transaction_id') {
      const { anomalies, truncated } = await allAnomalies(api, '');
      const hits: Anomaly[] = anomalies.filter((a) => a.transactionId === q);
      const events = feed
        .recent()
        .filter((e: PaymentEvent) => e.transactionId === q)
        .map(eventView);
      const paid = events.find((e) => e.type === 'ORDER_PAID');
      if (paid) return redirect(res, paid.orderHref);
      if (hits.length === 1 && hits[0]) return redirect(res, href(['orders', hits[0].mchId, hits[0].outTradeNo]));
      return send(
        res,
        hits.length + events.length > 0 ? 200 : 404,
        searchPage(f, {
          by,
          q,
          anomalies: hits,
          events,
          message: html`The core's API has no lookup by transaction_id (GetOrder takes mch_id and out_trade_no), so this searched
          ${truncated ? 'the latest 2,000' : 'all'} anomalies and the events this console has seen since it started.
          ${hits.length + events.length === 0 ? html`<b>Nothing names ${q}.</b> Search by out_trade_no instead.` : ''}`,
        }),
      );
    }
    const given = (url.searchParams.get('mch_id') ?? '').trim();
    if (given !== '' && !MCH_ID.test(given))
      return send(res, 400, searchPage(f, { by, q, message: html`mch_id is digits only.`, anomalies: [], events: [] }));
    const merchants = given !== '' ? [given] : config.mchIds;
    if (merchants.length === 0) {
      return send(
        res,
        400,
        searchPage(f, {
          by,
          q,
          anomalies: [],
          events: [],
          message: mchForm(
            q,
            'An order is named by its merchant and out_trade_no: which mch_id? (CONSOLE_MCH_IDS lists the merchants to try.)',
          ),
        }),
      );
    }
    const found: string[] = [];
    for (const mchId of merchants) {
      try {
        await api.getOrder(mchId, q, requestId);
        found.push(mchId);
      } catch (e) {
        if (!(e instanceof CoreCallError && (e.code === status.NOT_FOUND || e.code === status.PERMISSION_DENIED)))
          throw e;
      }
    }
    if (found.length === 1 && found[0]) return redirect(res, href(['orders', found[0], q]));
    if (found.length > 1) {
      return send(
        res,
        200,
        searchPage(f, {
          by,
          q,
          anomalies: [],
          events: [],
          message: html`${q} is an order of several merchants: ${found.map((m) => html`<a href="${href(['orders', m, q])}">${m}</a> `)}`,
        }),
      );
    }
    return send(
      res,
      404,
      searchPage(f, {
        by,
        q,
        anomalies: [],
        events: [],
        message: html`No order ${q} is registered for ${merchants.join(', ')}.
        ${merchants.map((m) => html`<a href="${href(['orders', m, q])}">Notifications for ${q} at ${m}</a> `)}(they may have arrived before the order) ${mchForm(q, 'or try another merchant:')}`,
      }),
    );
  }

  function mchForm(q: string, text: string): Html {
    return html`${text} <form class="inline" method="get" action="/search"><input type="hidden" name="by" value="out_trade_no"><input type="hidden" name="q" value="${q}">
      <input name="mch_id" placeholder="mch_id" aria-label="mch_id" maxlength="32" size="12" required><button>Search</button></form>`;
  }

  function stream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (sseClients.size >= MAX_SSE_CLIENTS) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end('too many live pages open\n');
      return;
    }
    const mchId = url.searchParams.get('mch_id') ?? '';
    const outTradeNo = url.searchParams.get('out_trade_no') ?? '';
    const keep = (e: PaymentEvent): boolean =>
      (mchId === '' || e.mchId === mchId) && (outTradeNo === '' || e.outTradeNo === outTradeNo);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      // nginx and ingress controllers otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    // JSON.stringify never emits a raw newline, so one data: line carries the whole event.
    const write = (e: PaymentEvent): void => {
      if (keep(e)) res.write(`id: ${e.cursor}\nevent: payment\ndata: ${JSON.stringify(eventView(e))}\n\n`);
    };
    const last = req.headers['last-event-id'];
    if (typeof last === 'string') for (const e of feed.after(last)) write(e);
    const unsubscribe = feed.subscribe(write);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    sseClients.add(res);
    const done = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      sseClients.delete(res);
    };
    req.on('close', done);
  }

  const server: Server = createServer((req, res) => {
    const requestId = `console-${randomUUID()}`;
    handle(req, res, requestId).catch((e: unknown) => {
      log.error({ err: e, request_id: requestId, url: req.url }, 'console request failed');
      if (!res.headersSent) res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain' });
      res.end(`internal error; request ${requestId} in the console's log\n`);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // event streams stay open

  return new Promise((resolvePromise, reject) => {
    server.once('error', (e) =>
      reject(new Error(`cannot listen on ${formatListenAddress(config.listen)}: ${e.message}`)),
    );
    server.listen(config.listen.port, config.listen.host, () => {
      const port = (server.address() as AddressInfo).port;
      const url = `http://${formatListenAddress({ host: config.listen.host, port })}/`;
      resolvePromise({
        port,
        url,
        close: () =>
          new Promise<void>((done) => {
            for (const client of sseClients) client.end();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
