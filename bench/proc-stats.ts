// CPU time and memory of the processes under test, read from /proc (Linux only).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { descendantPids } from '../harness/process-tree';

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface StatTimes {
  /** utime + stime of the process itself. */
  readonly self: number;
  /** stime alone: time in the kernel (system calls, network stack). */
  readonly sys: number;
  /** cutime + cstime: children it has waited for (postgres backends that exited). */
  readonly children: number;
  readonly childrenSys: number;
}

function readTimes(pid: number): StatTimes | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14.
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return {
    self: Number(f[11]) + Number(f[12]),
    sys: Number(f[12]),
    children: Number(f[13]) + Number(f[14]),
    childrenSys: Number(f[14]),
  };
}

/** Busy and total CPU seconds of the whole machine since boot (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / clockTicksPerSecond(), total: (busy + idle + iowait) / clockTicksPerSecond() };
}

/** CPU seconds of this process's children that have exited and been waited for. */
export function reapedChildrenSeconds(): number {
  return (readTimes(process.pid)?.children ?? 0) / clockTicksPerSecond();
}

/** A group of processes whose CPU is summed: each root with all its descendants. */
export interface ProcessGroup {
  readonly name: string;
  /** Read at every snapshot: a restarted process has a new pid. */
  readonly roots: () => ReadonlyArray<number | undefined>;
}

interface GroupTimes {
  /** pid -> [utime + stime, stime] */
  readonly perPid: ReadonlyMap<number, readonly [number, number]>;
  readonly reaped: readonly [number, number];
}

export interface CpuSnapshot {
  readonly at: number;
  readonly groups: ReadonlyMap<string, GroupTimes>;
}

export function cpuSnapshot(groups: readonly ProcessGroup[]): CpuSnapshot {
  const out = new Map<string, GroupTimes>();
  for (const g of groups) {
    const perPid = new Map<number, readonly [number, number]>();
    const reaped: [number, number] = [0, 0];
    for (const root of g.roots()) {
      if (root === undefined) continue;
      const rootTimes = readTimes(root);
      if (!rootTimes) continue;
      perPid.set(root, [rootTimes.self, rootTimes.sys]);
      reaped[0] += rootTimes.children;
      reaped[1] += rootTimes.childrenSys;
      for (const pid of descendantPids(root)) {
        const t = readTimes(pid);
        if (t) perPid.set(pid, [t.self, t.sys]);
      }
    }
    out.set(g.name, { perPid, reaped });
  }
  return { at: Date.now(), groups: out };
}

/**
 * CPU seconds each group used between two snapshots: processes alive at the end count their
 * growth (new ones all of it), processes that exited in between count through their parent's
 * cutime/cstime (the postmaster reaps its backends, the nginx master its workers).
 */
export function cpuSecondsBetween(a: CpuSnapshot, b: CpuSnapshot, only: 'all' | 'sys' = 'all'): Record<string, number> {
  const hz = clockTicksPerSecond();
  const k = only === 'all' ? 0 : 1;
  const result: Record<string, number> = {};
  for (const [name, end] of b.groups) {
    const start = a.groups.get(name);
    let ticks = end.reaped[k] - (start?.reaped[k] ?? 0);
    for (const [pid, t] of end.perPid) ticks += t[k] - (start?.perPid.get(pid)?.[k] ?? 0);
    // A child that exited in between (an idle pool connection closed, an autovacuum worker) was
    // added to the parent's cutime with its whole lifetime: take off what it had before the window.
    for (const [pid, t] of start?.perPid ?? []) if (!end.perPid.has(pid)) ticks -= t[k];
    result[name] = Math.max(0, ticks) / hz;
  }
  return result;
}

export interface Memory {
  readonly rssKb: number;
  /** VmHWM: the peak resident set since the process started. */
  readonly hwmKb: number;
}

export function readMemory(pid: number | undefined): Memory | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples RSS of some processes every `intervalMs` and keeps the maximum per name. */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.peaks.clear();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): Record<string, number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return Object.fromEntries([...this.peaks].map(([k, v]) => [k, Math.round(v / 1024)]));
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids())) {
      const m = readMemory(pid);
      if (m) this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, m.rssKb));
    }
  }
}
