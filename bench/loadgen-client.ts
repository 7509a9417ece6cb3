// The orchestrator's handle on the load-generator process (bench/loadgen.ts, forked).

import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { onExitCleanup } from '../harness/exit-cleanup';
import type { LoadgenEvent, LoadgenRequest, RunResult, RunSpec, Target } from './loadgen';
import type { WorkloadSpec } from './workload';

export class LoadgenProcess {
  private readonly waiters = new Set<(e: LoadgenEvent) => void>();
  private exited = false;
  private readonly unregister: () => void;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (e: LoadgenEvent) => {
      for (const w of [...this.waiters]) w(e);
    });
    // A send to a child that is gone (Ctrl-C killed it first) reports EPIPE here.
    child.on('error', (e) => {
      for (const w of [...this.waiters]) w({ ev: 'error', message: e.message });
    });
    child.on('exit', () => {
      this.exited = true;
      this.unregister();
      for (const w of [...this.waiters]) w({ ev: 'error', message: 'the load generator exited' });
    });
    const pid = child.pid;
    this.unregister = onExitCleanup('processes', () => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
  }

  static start(): LoadgenProcess {
    const child = fork(path.join(__dirname, 'loadgen.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    return new LoadgenProcess(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async prepare(target: Target, workload: WorkloadSpec): Promise<number> {
    const e = await this.request({ op: 'prepare', target, workload }, (ev) => ev.ev === 'prepared');
    return e.ev === 'prepared' ? e.count : 0;
  }

  /** Runs; `onWindow` is awaited for the start and end of the measured window. */
  async run(spec: RunSpec, onWindow: (phase: 'start' | 'end') => void): Promise<RunResult> {
    const listener = (e: LoadgenEvent): void => {
      if (e.ev === 'window') onWindow(e.phase);
    };
    this.waiters.add(listener);
    try {
      const e = await this.request({ op: 'run', run: spec }, (ev) => ev.ev === 'result');
      if (e.ev !== 'result') throw new Error('no result');
      return e.result;
    } finally {
      this.waiters.delete(listener);
    }
  }

  async close(): Promise<void> {
    if (this.exited) return;
    if (!this.child.connected) {
      this.child.kill('SIGKILL');
      return;
    }
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ op: 'exit' } satisfies LoadgenRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  }

  private request(msg: LoadgenRequest, done: (e: LoadgenEvent) => boolean): Promise<LoadgenEvent> {
    if (this.exited || !this.child.connected) return Promise.reject(new Error('the load generator is not running'));
    return new Promise((resolve, reject) => {
      const w = (e: LoadgenEvent): void => {
        if (e.ev === 'error') {
          this.waiters.delete(w);
          reject(new Error(`load generator: ${e.message}`));
        } else if (done(e)) {
          this.waiters.delete(w);
          resolve(e);
        }
      };
      this.waiters.add(w);
      this.child.send(msg);
    });
  }
}
