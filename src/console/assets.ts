/**
 * The console's stylesheet and its progressive JavaScript, served from memory: no bundler and
 * no files to copy next to dist/. Pages work without the script (forms post, links navigate);
 * with it, the live feed and an order's timeline update by themselves over server-sent events.
 * The script only ever sets textContent: event values come from WeChat and from attackers.
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var page = document.body.getAttribute('data-page');

  function cell(text, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }
  function tag(text, tone) {
    var span = document.createElement('span');
    span.className = 'tag ' + tone;
    span.textContent = text;
    return span;
  }
  function listen(url, onEvent, onState) {
    if (!window.EventSource) return;
    var source = new EventSource(url);
    source.addEventListener('open', function () { onState('live'); });
    source.addEventListener('error', function () { onState('reconnecting'); });
    source.addEventListener('payment', function (message) {
      var e;
      try { e = JSON.parse(message.data); } catch (err) { return; }
      onEvent(e);
    });
    // Leaving the page ends the stream cleanly instead of as an aborted request.
    window.addEventListener('pagehide', function () { source.close(); });
  }
  function setState(state) {
    var el = document.getElementById('live-state');
    if (el) el.textContent = state;
    document.body.setAttribute('data-live', state);
  }

  if (page === 'feed') {
    var tbody = document.getElementById('events');
    listen('/events/stream', function (e) {
      if (!tbody || tbody.querySelector('tr[data-cursor="' + CSS.escape(e.cursor) + '"]')) return;
      var empty = tbody.querySelector('tr.empty-row');
      if (empty) empty.remove();
      var tr = document.createElement('tr');
      tr.setAttribute('data-cursor', e.cursor);
      tr.className = 'fresh';
      tr.appendChild(cell(e.occurredAt, 'nowrap'));
      var typeCell = cell('');
      typeCell.appendChild(tag(e.type, e.tone));
      tr.appendChild(typeCell);
      tr.appendChild(cell(e.mchId));
      var orderCell = cell('');
      var a = document.createElement('a');
      if (typeof e.orderHref === 'string' && e.orderHref.indexOf('/orders/') === 0) a.href = e.orderHref;
      a.textContent = e.outTradeNo;
      orderCell.appendChild(a);
      tr.appendChild(orderCell);
      tr.appendChild(cell(e.transactionId || '\\u2014', 'mono'));
      tr.appendChild(cell(e.summary));
      tbody.insertBefore(tr, tbody.firstChild);
    }, setState);
  }

  if (page === 'order') {
    var table = document.querySelector('table.timeline');
    var body = document.getElementById('timeline');
    if (table && body) {
      var query = '?mch_id=' + encodeURIComponent(table.getAttribute('data-mch-id') || '')
        + '&out_trade_no=' + encodeURIComponent(table.getAttribute('data-out-trade-no') || '');
      listen('/events/stream' + query, function (e) {
        var tr = document.createElement('tr');
        tr.className = 'fresh';
        tr.appendChild(cell(e.occurredAt, 'nowrap'));
        var what = cell('');
        what.appendChild(tag('EVENT ' + e.type, e.tone));
        tr.appendChild(what);
        tr.appendChild(cell(e.summary + ' (live)'));
        body.appendChild(tr);
      }, setState);
    }
  }

  // One click resolves once: the button is disabled while the form posts.
  Array.prototype.forEach.call(document.querySelectorAll('form.resolve'), function (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button');
      if (button) { button.disabled = true; button.textContent = 'Resolving\\u2026'; }
    });
  });
})();
`;

export const CONSOLE_CSS = `:root { --fg: #1d2433; --muted: #6b7385; --line: #e3e6ec; --bg: #f6f7f9; --ok: #0f7b3f; --warn: #a05a00; --bad: #b42318; --wait: #3559c7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: #2a52be; }
.top { display: flex; align-items: center; gap: 18px; padding: 10px 24px; background: #1d2433; color: #fff; flex-wrap: wrap; }
.top a { color: #dfe5f3; text-decoration: none; }
.brand { font-weight: 700; color: #fff !important; }
.brand span { font-weight: 400; color: #9fb0d6; }
.top nav { display: flex; gap: 14px; }
.top nav a[aria-current] { color: #fff; border-bottom: 2px solid #7ea2ff; }
.search { display: flex; gap: 4px; margin-left: auto; }
.search input, .search select { padding: 4px 6px; border: 0; border-radius: 4px; }
.search button { padding: 4px 10px; border: 0; border-radius: 4px; background: #7ea2ff; color: #10172a; cursor: pointer; }
.who { color: #c9d2e6; font-size: 13px; }
.dot { font-size: 12px; padding: 2px 8px; border-radius: 10px; }
.dot.ok { background: #134e2f; } .dot.bad { background: #7a1d16; }
main { padding: 8px 24px 40px; max-width: 1400px; }
h1 { font-size: 22px; margin: 16px 0 12px; word-break: break-all; }
h2 { font-size: 16px; margin: 24px 0 8px; }
table.list, table.kv { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
table.list th, table.list td, table.kv th, table.kv td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.list th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; }
table.kv th { width: 360px; font-weight: 500; color: var(--muted); }
td.detail { max-width: 380px; word-break: break-word; }
td.ok { color: var(--ok); font-weight: 600; } td.bad { color: var(--bad); font-weight: 600; } td.wait { color: var(--wait); }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.nowrap { white-space: nowrap; }
.tag { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .02em; padding: 2px 7px; border-radius: 4px; background: #eef1f6; color: var(--muted); }
.tag.ok { background: #e3f4ea; color: var(--ok); } .tag.warn { background: #fff1dc; color: var(--warn); }
.tag.bad { background: #fde7e5; color: var(--bad); } .tag.wait { background: #e6ecfb; color: var(--wait); }
.hint { color: var(--muted); font-size: 12px; }
.bad { color: var(--bad); }
.empty { color: var(--muted); text-align: center; padding: 18px; }
.flash { background: #e6ecfb; border: 1px solid #c9d5f5; padding: 8px 12px; border-radius: 6px; }
.flash.warn { background: #fff1dc; border-color: #f3d19c; } .flash.bad { background: #fde7e5; border-color: #f4b9b3; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { flex: 1 1 220px; background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--wait); border-radius: 6px; padding: 14px; color: var(--fg); text-decoration: none; }
.card strong { display: block; font-size: 22px; }
.card.ok { border-left-color: var(--ok); } .card.warn { border-left-color: var(--warn); } .card.bad { border-left-color: var(--bad); }
.tabs { display: flex; gap: 16px; align-items: center; margin-bottom: 8px; }
.tabs a[aria-current] { font-weight: 700; color: var(--fg); text-decoration: none; border-bottom: 2px solid var(--fg); }
form.inline { display: inline-flex; gap: 4px; margin-left: auto; }
form.resolve { display: flex; gap: 6px; align-items: flex-start; }
form.resolve textarea { width: 240px; font: inherit; padding: 4px; }
form.resolve button, form.inline button { padding: 4px 10px; cursor: pointer; }
.resolution .note { margin: 2px 0; white-space: pre-wrap; word-break: break-word; }
.who-resolved { font-weight: 600; }
dl.order { display: grid; grid-template-columns: 140px 1fr 140px 1fr; gap: 6px 12px; background: #fff; border: 1px solid var(--line); padding: 12px; margin: 0; }
dl.order dt { color: var(--muted); } dl.order dd { margin: 0; }
tr.fresh { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #fff6bf; } to { background: transparent; } }
`;
