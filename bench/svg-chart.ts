// The throughput / latency chart as a self-contained SVG, written without dependencies.
//
// Top panel: achieved req/s against offered req/s (open loop), with the y = x line and the
// closed-loop capacity. Bottom panel: p50 / p99 latency (log scale) against the same x axis.

export interface LoadPoint {
  readonly offered: number;
  readonly achieved: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Cores used by processes outside the benchmark during the point (shared machine). */
  readonly otherLoad?: number;
}

const W = 760;
const PANEL_H = 250;
const M = { left: 72, right: 150, top: 44, gap: 70, bottom: 52 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1, 2, 5 x 10^k steps giving about `count` ticks over [0, max]. */
function niceTicks(max: number, count = 5): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

function fmt(v: number): string {
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`.replace('.0k', 'k');
  if (v >= 10) return String(Math.round(v));
  if (v >= 1) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 100) / 100);
}

export function throughputLatencySvg(
  title: string,
  points: readonly LoadPoint[],
  closedLoopRps: number,
  subtitle = '',
): string {
  const pts = [...points].sort((a, b) => a.offered - b.offered);
  const plotW = W - M.left - M.right;
  const H = M.top + PANEL_H + M.gap + PANEL_H + M.bottom;
  const xMax = Math.max(...pts.map((p) => p.offered), closedLoopRps) * 1.08;
  const x = (v: number): number => M.left + (v / xMax) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${M.left}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${M.left}" y="36" fill="#555">${esc(subtitle)}</text>`);

  // Panel 1: throughput.
  const top1 = M.top;
  const yMax1 = Math.max(...pts.map((p) => p.achieved), closedLoopRps) * 1.12;
  const y1 = (v: number): number => top1 + PANEL_H - (v / yMax1) * PANEL_H;
  const xTicks = niceTicks(xMax, 6).filter((t) => t <= xMax);
  const axes = (top: number, bottomLabel: boolean): void => {
    out.push(`<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#333"/>`);
    for (const t of xTicks) {
      out.push(`<line x1="${x(t)}" y1="${top}" x2="${x(t)}" y2="${top + PANEL_H}" stroke="#eee"/>`);
      out.push(`<text x="${x(t)}" y="${top + PANEL_H + 16}" text-anchor="middle">${fmt(t)}</text>`);
    }
    if (bottomLabel)
      out.push(
        `<text x="${M.left + plotW / 2}" y="${top + PANEL_H + 36}" text-anchor="middle">offered load (requests/s, open loop)</text>`,
      );
  };
  axes(top1, false);
  for (const t of niceTicks(yMax1, 5).filter((v) => v <= yMax1)) {
    out.push(`<line x1="${M.left}" y1="${y1(t)}" x2="${M.left + plotW}" y2="${y1(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${y1(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  out.push(
    `<text transform="translate(18 ${top1 + PANEL_H / 2}) rotate(-90)" text-anchor="middle">achieved requests/s</text>`,
  );
  const diagEnd = Math.min(xMax, yMax1);
  out.push(
    `<line x1="${x(0)}" y1="${y1(0)}" x2="${x(diagEnd)}" y2="${y1(diagEnd)}" stroke="#999" stroke-dasharray="4 4"/>`,
  );
  out.push(
    `<line x1="${M.left}" y1="${y1(closedLoopRps)}" x2="${M.left + plotW}" y2="${y1(closedLoopRps)}" stroke="#d62728" stroke-dasharray="6 3"/>`,
  );
  out.push(
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts.map((p) => `${x(p.offered).toFixed(1)},${y1(p.achieved).toFixed(1)}`).join(' ')}"/>`,
  );
  for (const p of pts)
    out.push(`<circle cx="${x(p.offered).toFixed(1)}" cy="${y1(p.achieved).toFixed(1)}" r="4" fill="#1f77b4"/>`);
  if (pts.some((p) => p.otherLoad !== undefined)) {
    out.push(
      `<text x="${M.left + 4}" y="${top1 + PANEL_H - 20}" fill="#888" font-size="10">other load (cores):</text>`,
    );
    for (const p of pts) {
      if (p.otherLoad !== undefined)
        out.push(
          `<text x="${x(p.offered).toFixed(1)}" y="${top1 + PANEL_H - 6}" text-anchor="middle" fill="#888" font-size="10">${p.otherLoad.toFixed(1)}</text>`,
        );
    }
  }
  const lx = M.left + plotW + 12;
  out.push(
    `<line x1="${lx}" y1="${top1 + 12}" x2="${lx + 22}" y2="${top1 + 12}" stroke="#1f77b4" stroke-width="2"/><text x="${lx + 28}" y="${top1 + 16}">achieved</text>`,
  );
  out.push(
    `<line x1="${lx}" y1="${top1 + 32}" x2="${lx + 22}" y2="${top1 + 32}" stroke="#999" stroke-dasharray="4 4"/><text x="${lx + 28}" y="${top1 + 36}">= offered</text>`,
  );
  out.push(
    `<line x1="${lx}" y1="${top1 + 52}" x2="${lx + 22}" y2="${top1 + 52}" stroke="#d62728" stroke-dasharray="6 3"/><text x="${lx + 28}" y="${top1 + 56}">closed-loop</text>`,
  );
  out.push(`<text x="${lx + 28}" y="${top1 + 70}">capacity</text>`);

  // Panel 2: latency, log scale.
  const top2 = M.top + PANEL_H + M.gap;
  const lat = pts.flatMap((p) => [p.p50Ms, p.p99Ms]).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...lat))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...lat) * 1.05));
  const y2 = (v: number): number =>
    top2 + PANEL_H - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;
  axes(top2, true);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi * 1.0001) break;
      out.push(
        `<line x1="${M.left}" y1="${y2(v)}" x2="${M.left + plotW}" y2="${y2(v)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`,
      );
      out.push(`<text x="${M.left - 6}" y="${y2(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
  }
  out.push(
    `<text transform="translate(18 ${top2 + PANEL_H / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
  );
  const series: Array<[string, string, (p: LoadPoint) => number]> = [
    ['p99', '#d62728', (p) => p.p99Ms],
    ['p50', '#2ca02c', (p) => p.p50Ms],
  ];
  series.forEach(([name, color, get], i) => {
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.offered).toFixed(1)},${y2(get(p)).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      out.push(`<circle cx="${x(p.offered).toFixed(1)}" cy="${y2(get(p)).toFixed(1)}" r="4" fill="${color}"/>`);
    out.push(
      `<line x1="${lx}" y1="${top2 + 12 + i * 20}" x2="${lx + 22}" y2="${top2 + 12 + i * 20}" stroke="${color}" stroke-width="2"/><text x="${lx + 28}" y="${top2 + 16 + i * 20}">${name}</text>`,
    );
  });
  const cap = x(closedLoopRps);
  out.push(
    `<line x1="${cap}" y1="${top2}" x2="${cap}" y2="${top2 + PANEL_H}" stroke="#d62728" stroke-dasharray="6 3"/>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
