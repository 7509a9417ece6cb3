import {
  OrderStatus,
  type Anomaly,
  type NotificationSummary,
  type Order,
} from '../gen/payment/callback/v1/payment_callback';
import type { HealthReport } from './core-api';
import type { FeedState } from './event-feed';
import { fmtFen, fmtTime, outcomeName, outcomeTone, statusName, type EventView } from './format';
import { href, html, type Html } from './html';
import { parseResolutionNote } from './operator';

/** What every page shows around its content. */
export interface Frame {
  readonly operator: string;
  readonly health: HealthReport;
  readonly active: 'overview' | 'anomalies' | 'feed' | 'health' | 'search' | 'order';
}

function layout(title: string, frame: Frame, body: Html, page = ''): Html {
  const navLink = (key: Frame['active'], path: string, label: string): Html =>
    html`<a href="${path}"${key === frame.active ? html` aria-current="page"` : ''}>${label}</a>`;
  const healthy = frame.health.reachable && frame.health.paymentApi === 'SERVING';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · payment-callback console</title>
<link rel="stylesheet" href="/static/console.css">
<link rel="icon" href="data:,">
<script src="/static/console.js" defer></script>
</head>
<body data-page="${page}">
<header class="top">
  <a class="brand" href="/">payment-callback <span>console</span></a>
  <nav>${navLink('overview', '/', 'Overview')}${navLink('anomalies', '/anomalies', 'Anomalies')}${navLink('feed', '/events', 'Live feed')}${navLink('health', '/health', 'Health')}</nav>
  <form class="search" action="/search" method="get" role="search">
    <select name="by" aria-label="search by"><option value="out_trade_no">out_trade_no</option><option value="transaction_id">transaction_id</option></select>
    <input name="q" placeholder="order or transaction id" aria-label="search" required maxlength="64">
    <button>Search</button>
  </form>
  <span class="who" title="every change you make is recorded with this name">${frame.operator}</span>
  <a class="dot ${healthy ? 'ok' : 'bad'}" href="/health" title="core ${healthy ? 'serving' : 'not serving'}">${healthy ? 'core serving' : 'core down'}</a>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

export function overviewPage(
  frame: Frame,
  o: { openAnomalies: number; moreAnomalies: boolean; feed: FeedBox; recent: readonly EventView[] },
): Html {
  return layout(
    'Overview',
    frame,
    html`
<section class="cards">
  <a class="card ${o.openAnomalies > 0 ? 'warn' : 'ok'}" href="/anomalies"><strong id="open-anomalies">${o.openAnomalies}${o.moreAnomalies ? '+' : ''}</strong> open anomalies</a>
  <a class="card ${frame.health.reachable ? 'ok' : 'bad'}" href="/health"><strong>${frame.health.paymentApi}</strong> payment API (${frame.health.ms} ms)</a>
  <a class="card ${o.feed.state === 'live' ? 'ok' : 'wait'}" href="/events"><strong>${o.feed.state}</strong> event stream</a>
</section>
<h2>Latest payment events</h2>
${eventTable(o.recent.slice(0, 10), 'No events since the console started.')}
`,
  );
}

export function anomaliesPage(
  frame: Frame,
  p: {
    state: 'open' | 'resolved';
    anomalies: readonly Anomaly[];
    nextPageToken: string;
    mchId: string;
    csrf: string;
    flash: string | undefined;
  },
): Html {
  const tab = (state: 'open' | 'resolved', label: string): Html =>
    html`<a href="${href(['anomalies'], { state, mch_id: p.mchId })}"${p.state === state ? html` aria-current="page"` : ''}>${label}</a>`;
  const rows = p.anomalies.map(
    (a) => html`
<tr id="anomaly-${a.id}" data-anomaly="${a.id}">
  <td>${a.id}</td>
  <td>${fmtTime(a.createdAt)}</td>
  <td><span class="tag warn">${a.kind}</span></td>
  <td>${a.mchId}</td>
  <td><a href="${href(['orders', a.mchId, a.outTradeNo])}">${a.outTradeNo}</a></td>
  <td class="mono">${a.transactionId || '—'}</td>
  <td class="detail">${a.detail}</td>
  <td>${
    a.resolved
      ? resolution(a)
      : html`
    <form class="resolve" method="post" action="${href(['anomalies', a.id, 'resolve'])}">
      <input type="hidden" name="csrf" value="${p.csrf}">
      <input type="hidden" name="mch_id" value="${p.mchId}">
      <textarea name="note" required maxlength="1500" rows="2" placeholder="What was done (e.g. refunded the second payment, refund id …)" aria-label="resolution note for anomaly ${a.id}"></textarea>
      <button>Resolve</button>
    </form>`
  }</td>
</tr>`,
  );
  return layout(
    'Anomalies',
    { ...frame, active: 'anomalies' },
    html`
${p.flash ? html`<p class="flash" role="status">${p.flash}</p>` : ''}
<nav class="tabs">${tab('open', 'Open')}${tab('resolved', 'Resolved')}
  <form method="get" action="/anomalies" class="inline"><input type="hidden" name="state" value="${p.state}">
  <input name="mch_id" value="${p.mchId}" placeholder="mch_id (all)" aria-label="merchant" maxlength="32" size="12"><button>Filter</button></form>
</nav>
<p class="hint">${
      p.state === 'open'
        ? 'Discrepancies a person must look at: a second payment of a paid order, an amount or currency that differs from the registered order, a refund the order cannot take. Resolve one when it has been handled; your name and note are recorded.'
        : 'Resolved anomalies, newest first, with who resolved them and how.'
    }</p>
<table class="list anomalies">
<thead><tr><th>id</th><th>raised</th><th>kind</th><th>mch_id</th><th>out_trade_no</th><th>transaction_id</th><th>detail</th><th>${p.state === 'open' ? 'resolve' : 'resolution'}</th></tr></thead>
<tbody>${rows.length > 0 ? rows : html`<tr><td colspan="8" class="empty">${p.state === 'open' ? 'No open anomalies.' : 'No resolved anomalies on this page.'}</td></tr>`}</tbody>
</table>
${p.nextPageToken ? html`<p><a href="${href(['anomalies'], { state: p.state, mch_id: p.mchId, page_token: p.nextPageToken })}">Older →</a></p>` : ''}
`,
    'anomalies',
  );
}

function resolution(a: Anomaly): Html {
  const parsed = parseResolutionNote(a.resolutionNote);
  return html`<div class="resolution">
    <div>resolved <span class="who-resolved">by ${parsed ? parsed.operator : a.resolvedBy}</span> at ${fmtTime(a.resolvedAt)}</div>
    <div class="note">${parsed ? parsed.note : a.resolutionNote}</div>
    <div class="hint">core caller: ${a.resolvedBy}</div>
  </div>`;
}

/** One line of an order's timeline. */
interface Moment {
  readonly at: Date | undefined;
  readonly what: Html;
  readonly detail: Html;
}

export function orderPage(
  frame: Frame,
  p: {
    mchId: string;
    outTradeNo: string;
    order: Order | undefined;
    notifications: readonly NotificationSummary[];
    notificationsTruncated: boolean;
    anomalies: readonly Anomaly[];
    anomaliesTruncated: boolean;
    events: readonly EventView[];
  },
): Html {
  const o = p.order;
  const moments: Moment[] = [];
  if (o)
    moments.push({
      at: o.createdAt,
      what: html`<span class="tag muted">ORDER REGISTERED</span>`,
      detail: html`${fmtFen(o.totalFee, o.feeType)} for appid ${o.appid}`,
    });
  // Oldest first, and in this order when times are equal (the sort is stable): what the core
  // received, then the events it committed, then what people did about it. The order's paid_at
  // is WeChat's clock (time_end), so it is in the card above, not among the core's times.
  for (const n of [...p.notifications].reverse()) {
    const name = outcomeName(n.outcome);
    moments.push({
      at: n.receivedAt,
      what: html`<span class="tag ${outcomeTone(name)}">${name}</span> <span class="hint">${n.kind} notification</span>`,
      detail: html`code <b>${n.code}</b>, result ${n.resultCode || '—'}${n.transactionId ? html`, transaction <span class="mono">${n.transactionId}</span>` : ''}${n.outRefundNo ? html`, refund ${n.outRefundNo}` : ''}
        <span class="hint">from ${n.clientIp || '?'}, request ${n.requestId || '?'}</span>`,
    });
  }
  for (const e of [...p.events].reverse()) {
    moments.push({
      at: e.occurredAtIso ? new Date(e.occurredAtIso) : undefined,
      what: html`<span class="tag ${e.tone}">EVENT ${e.type}</span>`,
      detail: html`${e.summary} <span class="hint">cursor ${e.cursor}</span>`,
    });
  }
  for (const a of [...p.anomalies].reverse()) {
    moments.push({
      at: a.createdAt,
      what: html`<span class="tag warn">ANOMALY ${a.kind}</span>`,
      detail: html`#${a.id}: ${a.detail}`,
    });
    if (a.resolved)
      moments.push({
        at: a.resolvedAt,
        what: html`<span class="tag ok">ANOMALY RESOLVED</span>`,
        detail: html`#${a.id} ${resolution(a)}`,
      });
  }
  moments.sort((a, b) => (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0));
  const title = `Order ${p.outTradeNo}`;
  return layout(
    title,
    { ...frame, active: 'order' },
    html`
${
  o
    ? html`<dl class="order">
  <dt>status</dt><dd><span class="tag ${o.status === OrderStatus.ORDER_STATUS_PAID ? 'ok' : 'wait'}" id="order-status">${statusName(o.status)}</span></dd>
  <dt>mch_id</dt><dd>${o.mchId}</dd><dt>appid</dt><dd>${o.appid}</dd>
  <dt>amount</dt><dd>${fmtFen(o.totalFee, o.feeType)} <span class="hint">(${o.totalFee} fen)</span></dd>
  <dt>refunded</dt><dd>${fmtFen(o.refundedFee, o.feeType)}</dd>
  <dt>transaction_id</dt><dd class="mono">${o.transactionId || '—'}</dd>
  <dt>registered</dt><dd>${fmtTime(o.createdAt)}</dd><dt>paid at</dt><dd>${fmtTime(o.paidAt)}</dd>
</dl>`
    : html`<p class="flash warn">No order ${p.outTradeNo} is registered for merchant ${p.mchId}. Notifications that arrived for it are listed below (answered ORDER_NOT_FOUND until the order is created).</p>`
}
<h2>Timeline</h2>
<table class="list timeline" data-mch-id="${p.mchId}" data-out-trade-no="${p.outTradeNo}">
<thead><tr><th>time (UTC)</th><th>what</th><th>detail</th></tr></thead>
<tbody id="timeline">${moments.length > 0 ? moments.map((m) => html`<tr><td class="nowrap">${fmtTime(m.at)}</td><td>${m.what}</td><td>${m.detail}</td></tr>`) : html`<tr><td colspan="3" class="empty">Nothing recorded for this order.</td></tr>`}</tbody>
</table>
<p class="hint">Notifications and anomalies come from the core (ListNotifications, ListAnomalies${p.notificationsTruncated || p.anomaliesTruncated ? '; the oldest were left out, there are too many' : ''}).
Events are those this console has seen on WatchPaymentEvents since it started (the core has no per-order event query); new ones are added live.</p>
`,
    'order',
  );
}

export interface FeedBox {
  readonly state: FeedState;
  readonly lastError: string | undefined;
  readonly lastEventAt: Date | undefined;
}

export function feedPage(frame: Frame, p: { feed: FeedBox; recent: readonly EventView[] }): Html {
  return layout(
    'Live feed',
    { ...frame, active: 'feed' },
    html`
<p class="hint">Payment events as the core commits them (WatchPaymentEvents), newest first. Stream to the core: <b id="upstream">${p.feed.state}</b>${p.feed.lastError ? html` <span class="bad">(${p.feed.lastError})</span>` : ''}; this page: <b id="live-state">static</b> (it updates by itself when JavaScript runs).</p>
${eventTable(p.recent, 'No events yet: pay an order (make notify) and it appears here.')}
`,
    'feed',
  );
}

function eventTable(events: readonly EventView[], empty: string): Html {
  return html`<table class="list events">
<thead><tr><th>time (UTC)</th><th>event</th><th>mch_id</th><th>out_trade_no</th><th>transaction_id</th><th>detail</th></tr></thead>
<tbody id="events" data-empty="${empty}">${events.length > 0 ? events.map(eventRow) : html`<tr class="empty-row"><td colspan="6" class="empty">${empty}</td></tr>`}</tbody>
</table>`;
}

/** The same row console.js builds for an event that arrives live. */
function eventRow(e: EventView): Html {
  return html`<tr data-cursor="${e.cursor}"><td class="nowrap">${e.occurredAt}</td><td><span class="tag ${e.tone}">${e.type}</span></td><td>${e.mchId}</td><td><a href="${e.orderHref}">${e.outTradeNo}</a></td><td class="mono">${e.transactionId || '—'}</td><td>${e.summary}</td></tr>`;
}

export function healthPage(
  frame: Frame,
  p: { feed: FeedBox; target: string; tokenConfigured: boolean; identity: string },
): Html {
  const h = frame.health;
  const row = (k: string, v: Html | string, tone = ''): Html =>
    html`<tr><th>${k}</th><td class="${tone}">${v}</td></tr>`;
  return layout(
    'Health',
    { ...frame, active: 'health' },
    html`
<table class="kv">
${row('core target', p.target)}
${row('core reachable', h.reachable ? `yes (${h.ms} ms)` : `no: ${h.error ?? ''}`, h.reachable ? 'ok' : 'bad')}
${row('grpc.health.v1 ""', h.server, h.server === 'SERVING' ? 'ok' : 'bad')}
${row('grpc.health.v1 payment.callback.v1.PaymentCallback', h.paymentApi, h.paymentApi === 'SERVING' ? 'ok' : 'bad')}
${row('event stream', p.feed.state + (p.feed.lastError ? ` (last error ${p.feed.lastError})` : ''), p.feed.state === 'live' ? 'ok' : 'wait')}
${row('last event received', fmtTime(p.feed.lastEventAt))}
${row('console caller token', p.tokenConfigured ? 'configured' : 'none (the core must have AUTH_DISABLED=true)')}
${row('operators identified by', p.identity)}
</table>
<p class="hint">The core's metrics, alerts and logs say more: see docs/operating.md.</p>
`,
    'health',
  );
}

export function searchPage(
  frame: Frame,
  p: { by: string; q: string; message: Html; anomalies: readonly Anomaly[]; events: readonly EventView[] },
): Html {
  return layout(
    'Search',
    { ...frame, active: 'search' },
    html`
<p class="flash">${p.message}</p>
${p.anomalies.length > 0 ? html`<h2>Anomalies naming it</h2><ul>${p.anomalies.map((a) => html`<li><a href="${href(['orders', a.mchId, a.outTradeNo])}">${a.outTradeNo}</a> (mch_id ${a.mchId}): ${a.kind}</li>`)}</ul>` : ''}
${p.events.length > 0 ? html`<h2>Events naming it (seen since the console started)</h2>${eventTable(p.events, '')}` : ''}
`,
  );
}

export function errorPage(frame: Frame, title: string, message: string): Html {
  return layout(
    title,
    frame,
    html`<p class="flash bad" role="alert">${message}</p><p><a href="/">Back to the overview</a></p>`,
  );
}
