// Finding and killing a process together with everything it forked.
//
// Killing only the process we spawned is not enough for multi-process servers:
// after SIGKILL of the postgres postmaster its backends and background workers
// live on for a moment (each called setsid(), so a process-group kill misses
// them), and nginx workers keep serving on the inherited listen socket. Both
// would block a restart on the same port, and postgres refuses to start while
// old backends still attach the previous shared memory segment.
//
// Linux only (reads /proc); elsewhere we fall back to the root process alone.
// Everything is synchronous so that it can also run from a process 'exit'
// handler.

import fs from 'node:fs';

interface ProcStat {
  readonly ppid: number;
  readonly state: string;
}

function readStat(pid: number): ProcStat | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Format: "pid (comm) state ppid ...". comm may contain spaces and
  // parentheses, so split after the LAST ')'.
  const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const ppid = Number(fields[1]);
  if (state === undefined || !Number.isInteger(ppid)) return undefined;
  return { ppid, state };
}

/** All live descendants of `rootPid` (children, grandchildren, ...), excluding it. */
export function descendantPids(rootPid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const childrenOf = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (stat === undefined) continue;
    const siblings = childrenOf.get(stat.ppid) ?? [];
    siblings.push(pid);
    childrenOf.set(stat.ppid, siblings);
  }
  const result: number[] = [];
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of childrenOf.get(pid) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

/**
 * True while `pid` exists and is not a zombie. Zombies count as gone: they hold
 * no sockets or shared memory, and orphans re-parented to a container's PID 1
 * may never be reaped.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readStat(pid);
  return stat === undefined ? true : stat.state !== 'Z';
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * SIGKILLs `rootPid` and all its descendants; returns every pid signalled.
 * The root is frozen with SIGSTOP first so it cannot fork new children between
 * listing its descendants and killing them.
 */
export function killTree(rootPid: number): number[] {
  trySignal(rootPid, 'SIGSTOP');
  const pids = [rootPid, ...descendantPids(rootPid)];
  for (const pid of pids) trySignal(pid, 'SIGKILL');
  return pids;
}
