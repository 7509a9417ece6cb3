// A child process owned by the test support library.
//
// - stdout/stderr are captured into a bounded tail, so startup failures and
//   crashes can be explained in error messages instead of vanishing.
// - The child and its pipes are unref'd: a test that forgets to stop a server
//   does not keep the test process alive forever. The process 'exit' cleanup
//   (exit-cleanup.ts) then SIGKILLs it together with its descendants. While we
//   actively wait on the child, the wait's own timeout timer keeps the event
//   loop alive.
// - Stopping waits for the process AND the descendants it had (postgres
//   backends, nginx workers) to be gone, because leftovers keep ports bound.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { onExitCleanup } from './exit-cleanup';
import { OutputTail } from './output-tail';
import { descendantPids, isAlive, killTree } from './process-tree';
import { waitUntil } from './wait-until';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user/group (we are root and the server refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /** How many characters of combined stdout+stderr to keep; default 16 KiB. */
  readonly tailChars?: number;
}

const DEFAULT_STOP_TIMEOUT_MS = 15_000;
const DEFAULT_KILL_TIMEOUT_MS = 5_000;
/** How many trailing output lines go into error messages. */
const ERROR_TAIL_LINES = 40;

function unrefStream(stream: Readable | null): void {
  // For 'pipe' stdio Node creates net.Socket instances, which can be unref'd.
  if (stream instanceof net.Socket) stream.unref();
}

function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

export class ManagedProcess {
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /**
   * Resolves once stdout/stderr are closed, i.e. all output was captured.
   * 'exit' can fire before the last output is read; but a surviving grandchild
   * holding the pipes delays this indefinitely, so only wait on it bounded.
   */
  readonly outputClosed: Promise<void>;

  private readonly tail: OutputTail;
  private readonly stdoutTail: OutputTail;
  private exitInfo: ExitInfo | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    pid: number,
    tailChars: number | undefined,
  ) {
    this.pid = pid;
    this.tail = new OutputTail(tailChars);
    this.stdoutTail = new OutputTail(tailChars);
    for (const [stream, isStdout] of [
      [child.stdout, true],
      [child.stderr, false],
    ] as const) {
      if (stream === null) continue;
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.tail.append(chunk);
        if (isStdout) this.stdoutTail.append(chunk);
      });
      unrefStream(stream);
    }
    const unregister = onExitCleanup('processes', () => killTree(pid));
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        unregister();
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    this.outputClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // After a successful spawn, 'error' only reports failed kill() calls;
    // those are handled by checking liveness, so never crash the test on it.
    child.on('error', () => undefined);
    child.unref();
  }

  /** Spawns `command`; rejects (with the reason, e.g. ENOENT) if it cannot start. */
  static spawn(
    name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ): Promise<ManagedProcess> {
    return new Promise<ManagedProcess>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        uid: options.uid,
        gid: options.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.once('error', (error) => {
        reject(new Error(`${name}: cannot spawn ${command}: ${error.message}`, { cause: error }));
      });
      child.once('spawn', () => {
        const pid = child.pid;
        if (pid === undefined) {
          reject(new Error(`${name}: spawned ${command} but got no pid`));
          return;
        }
        resolve(new ManagedProcess(name, child, pid, options.tailChars));
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Combined stdout+stderr tail, or only its last `lines` lines. */
  output(lines?: number): string {
    return this.tail.toString(lines);
  }

  /** stdout alone (for commands whose output we parse). */
  stdout(): string {
    return this.stdoutTail.toString();
  }

  outputIncludes(needle: string | RegExp): boolean {
    return this.tail.includes(needle);
  }

  /** "<name> (pid N) exited with code 1" plus the output tail, for error messages. */
  describe(): string {
    const state = this.exitInfo === undefined ? 'is running' : describeExit(this.exitInfo);
    const output = this.output(ERROR_TAIL_LINES);
    return `${this.name} (pid ${this.pid}) ${state}; last output:\n${output === '' ? '(none)' : output}`;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo !== undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Exited in the meantime.
    }
  }

  /** Waits for the process to exit; throws (with the output tail) after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    await waitUntil(`${this.name} (pid ${this.pid}) to exit`, timeoutMs, () => this.exitInfo !== undefined, {
      details: () => this.describe(),
    });
    return await this.exited;
  }

  /**
   * Graceful stop: sends `signal`, then waits for the process and the
   * descendants it had to be gone. If that takes longer than `timeoutMs`,
   * everything is SIGKILLed and an error is thrown, because a server that
   * ignores its shutdown signal is worth knowing about.
   */
  async terminate(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitInfo> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    const descendants = descendantPids(this.pid);
    this.signal(signal);
    try {
      await waitUntil(
        `${this.name} (pid ${this.pid}) to exit after ${signal}`,
        timeoutMs,
        () => this.exitInfo !== undefined && !descendants.some(isAlive),
        { details: () => this.describe() },
      );
    } catch (error) {
      await this.kill(DEFAULT_KILL_TIMEOUT_MS, descendants);
      throw error;
    }
    return await this.exited;
  }

  /**
   * SIGKILLs the process and all its descendants (plus `alsoKill`: children
   * remembered from before the process exited, which are no longer findable as
   * its descendants) and waits until they are all gone.
   */
  async kill(timeoutMs = DEFAULT_KILL_TIMEOUT_MS, alsoKill: readonly number[] = []): Promise<ExitInfo> {
    const pids = [...(this.exitInfo === undefined ? killTree(this.pid) : []), ...alsoKill];
    for (const pid of alsoKill) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await waitUntil(
      `${this.name} (pid ${this.pid}) and its children to die after SIGKILL`,
      timeoutMs,
      () => this.exitInfo !== undefined && !pids.some(isAlive),
      { details: () => this.describe() },
    );
    return await this.exited;
  }
}
