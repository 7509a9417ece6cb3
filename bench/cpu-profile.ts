// Summarises a V8 .cpuprofile (from `node --cpu-prof`) as text: the top functions by self time,
// and for each package or area the share of samples in which it was on the stack.

import fs from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface ProfileRow {
  readonly name: string;
  readonly where: string;
  readonly area: string;
  readonly ms: number;
  /** Share of non-idle time. */
  readonly pct: number;
}

interface AreaRow {
  readonly area: string;
  /** Self time in this area, share of non-idle time. */
  readonly selfPct: number;
  /**
   * Self time charged to the nearest package or our own code up the stack (so a socket write
   * counts for pg or pino, not for "native"), share of non-idle time.
   */
  readonly chargedPct: number;
  /** Share of non-idle samples with this area anywhere on the stack. */
  readonly onStackPct: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallS: number;
  /** Sampled time not idle, seconds. */
  readonly busyS: number;
  readonly top: readonly ProfileRow[];
  readonly areas: readonly AreaRow[];
  /** Replies in the profiled window, when known. */
  readonly requests?: number;
  /**
   * This process's CPU per request over the same window, from /proc (utime+stime). The profile's
   * own "busy" time is wall time the thread was not idle, which includes time it was runnable but
   * preempted, so on a loaded machine the shares are right but their sum is too high: ms/req
   * columns are the shares applied to this figure.
   */
  readonly procCpuMsPerReq?: number;
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/** The package or area a frame belongs to: an npm package, node internals, or our own code. */
function areaOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native / builtin)';
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(url);
    return `node:${m?.[1] ?? 'internal'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] ?? 'node_modules';
  const ours = /\/dist\/(src|gateway|bench|test)\/(?:([^/]+)\/)?/.exec(url);
  if (ours) return ours[1] === 'src' && ours[2] && !ours[2].endsWith('.js') ? `src/${ours[2]}` : `${ours[1] ?? ''}`;
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/** Areas that are not a library or our code: time there is charged to the caller that is. */
function isPlumbing(area: string): boolean {
  return area.startsWith('node:') || area.startsWith('(');
}

/**
 * `window`: only samples between these offsets (seconds from the start of profiling), e.g. the
 * measured window without start-up and shutdown.
 */
export function summarizeProfile(file: string, topN = 20, window?: { fromS: number; toS: number }): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<string, { name: string; where: string; area: string; us: number }>();
  const areaSelf = new Map<string, number>();
  const areaCharged = new Map<string, number>();
  const areaOnStack = new Map<string, number>();
  let busyUs = 0;
  let t = 0;
  let firstUs = Number.POSITIVE_INFINITY;
  let lastUs = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample: attribute it to this one.
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window.fromS * 1e6 || t > window.toS * 1e6)) return;
    firstUs = Math.min(firstUs, t);
    lastUs = Math.max(lastUs, t);
    const node = byId.get(id);
    if (!node) return;
    const area = areaOf(node.callFrame);
    if (area === '(idle)') return;
    busyUs += dt;
    const f = node.callFrame;
    const name = f.functionName || '(anonymous)';
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    const row = selfUs.get(key) ?? { name, where, area, us: 0 };
    row.us += dt;
    selfUs.set(key, row);
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + dt);
    const seen = new Set<string>();
    let charged: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const a = areaOf(n.callFrame);
      if (a === '(root)') continue;
      seen.add(a);
      if (charged === undefined && !isPlumbing(a)) charged = a;
    }
    charged ??= area;
    areaCharged.set(charged, (areaCharged.get(charged) ?? 0) + dt);
    for (const a of seen) areaOnStack.set(a, (areaOnStack.get(a) ?? 0) + dt);
  });
  const pct = (us: number): number => (busyUs === 0 ? 0 : Math.round((1000 * us) / busyUs) / 10);
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((r) => ({ name: r.name, where: r.where, area: r.area, ms: Math.round(r.us / 1000), pct: pct(r.us) }));
  const areas = [...new Set([...areaOnStack.keys(), ...areaCharged.keys()])]
    .map((area) => ({
      area,
      selfPct: pct(areaSelf.get(area) ?? 0),
      chargedPct: pct(areaCharged.get(area) ?? 0),
      onStackPct: pct(areaOnStack.get(area) ?? 0),
    }))
    .sort((a, b) => b.chargedPct - a.chargedPct);
  const wallS = window ? Math.max(0, lastUs - firstUs) / 1e6 : (profile.endTime - profile.startTime) / 1e6;
  return { file, wallS, busyS: busyUs / 1e6, top, areas };
}

export function formatProfile(title: string, s: ProfileSummary, topAreas = 16): string {
  const cpuPerReq = s.procCpuMsPerReq ?? (s.requests ? (s.busyS * 1000) / s.requests : undefined);
  const perReq =
    s.requests && cpuPerReq !== undefined
      ? `; ${s.requests} requests, ${cpuPerReq.toFixed(2)} ms CPU per request${s.procCpuMsPerReq !== undefined ? ' (utime+stime from /proc)' : ''}`
      : '';
  const msPerReq = (pct: number): string =>
    cpuPerReq !== undefined ? ((pct / 100) * cpuPerReq).toFixed(3).padStart(7) : '';
  const lines = [
    `${title}: ${s.busyS.toFixed(1)} s sampled not idle in ${s.wallS.toFixed(1)} s${perReq} (% of not-idle samples)`,
    '',
    '  self%  self ms  function (file:line) [area]',
    ...s.top.map(
      (r) =>
        `  ${r.pct.toFixed(1).padStart(5)}  ${String(r.ms).padStart(7)}  ${r.name} ${r.where ? `(${r.where}) ` : ''}[${r.area}]`,
    ),
    '',
    `  by area                      charged%  self%  on-stack%${s.requests ? '  charged ms/req' : ''}`,
    ...s.areas
      .slice(0, topAreas)
      .map(
        (a) =>
          `  ${a.area.padEnd(28)} ${a.chargedPct.toFixed(1).padStart(8)}  ${a.selfPct.toFixed(1).padStart(5)}  ${a.onStackPct.toFixed(1).padStart(9)}  ${msPerReq(a.chargedPct)}`,
      ),
    '  (charged: time in native code and node: internals counted for the nearest library or our own code up the stack)',
  ];
  return lines.join('\n');
}
