// The bare PostgreSQL ceiling: pgbench replaying, per transaction, exactly the statements the
// core sent for one paid notification (captured from the server log during the trace), with the
// trade number replaced by a fresh one per transaction.

import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from '../harness/managed-process';
import type { LoggedStatement } from './statement-log';

/** Trade numbers are `${PREFIX}${client_id * STRIDE + k}`, k = 1, 2, ... per client. */
export const PGBENCH_PREFIX = 'G';
export const PGBENCH_STRIDE = 1_000_000;

/**
 * pgbench in simple-protocol mode substitutes `:n` textually, also inside string literals, so the
 * trade number can be replaced wherever the core wrote it (dedupe keys, JSON, the raw body).
 * Undefined `:name`s (e.g. ":10000100" inside a dedupe key) are left alone in this mode.
 */
export function pgbenchScript(template: readonly LoggedStatement[], tradeNo: string, prefix = PGBENCH_PREFIX): string {
  const lines = ['\\set k :k + 1', `\\set n :client_id * ${PGBENCH_STRIDE} + :k`];
  for (const s of template) {
    const text = s.text.replace(new RegExp(tradeNo + '(?![0-9])', 'g'), `${prefix}:n`).replace(/;\s*$/, '');
    if (/\n/.test(text)) throw new Error('multi-line statement in the template');
    lines.push(`${text};`);
  }
  return `${lines.join('\n')}\n`;
}

export interface PgbenchResult {
  readonly clients: number;
  readonly seconds: number;
  readonly transactions: number;
  readonly tps: number;
  readonly latencyAvgMs: number;
  /** Average latency of each statement of the script, as pgbench -r reports it. */
  readonly statementMs: ReadonlyArray<{ ms: number; statement: string }>;
  readonly pid: number;
  readonly output: string;
}

export async function runPgbench(options: {
  bindir: string;
  port: number;
  database: string;
  scriptFile: string;
  clients: number;
  threads: number;
  seconds: number;
  onStarted?: (pid: number) => void;
}): Promise<PgbenchResult> {
  const candidates = [path.join(options.bindir, 'pgbench'), '/usr/bin/pgbench', 'pgbench'];
  const exe = candidates.find((c) => !c.includes('/') || fs.existsSync(c)) ?? 'pgbench';
  const proc = await ManagedProcess.spawn(
    'pgbench',
    exe,
    [
      '-n',
      '-M',
      'simple',
      '-r',
      '-c',
      String(options.clients),
      '-j',
      String(options.threads),
      '-T',
      String(options.seconds),
      '-D',
      'k=0',
      '-f',
      options.scriptFile,
      '-h',
      '127.0.0.1',
      '-p',
      String(options.port),
      '-U',
      'postgres',
      options.database,
    ],
    {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGPASSWORD: '', PGSSLMODE: 'disable' },
      tailChars: 256 * 1024,
    },
  );
  options.onStarted?.(proc.pid);
  const exit = await proc.waitForExit((options.seconds + 60) * 1000);
  await Promise.race([proc.outputClosed, new Promise((r) => setTimeout(r, 1000))]);
  const output = proc.output();
  if (exit.code !== 0) throw new Error(`pgbench failed: ${proc.describe()}`);
  const num = (re: RegExp): number => Number(re.exec(output)?.[1] ?? NaN);
  const statementMs: Array<{ ms: number; statement: string }> = [];
  const latencies = output.split(/statement latencies in milliseconds[^\n]*\n/)[1] ?? '';
  for (const line of latencies.split('\n')) {
    const m = /^\s+([\d.]+)\s+(?:\d+\s+)?(.+)$/.exec(line);
    if (m) statementMs.push({ ms: Number(m[1]), statement: (m[2] ?? '').trim().slice(0, 90) });
  }
  return {
    clients: options.clients,
    seconds: options.seconds,
    transactions: num(/number of transactions actually processed: (\d+)/),
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    statementMs,
    pid: proc.pid,
    output,
  };
}
