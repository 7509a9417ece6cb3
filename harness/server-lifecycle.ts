// The start / stop / kill / restart / dispose cycle shared by all throwaway
// servers. Each server module supplies only how to launch its process on a
// given port and wait until it is ready; this module owns the process, keeps
// the port across restarts and makes sure nothing outlives dispose().

import { isPortFree } from './free-port';
import type { ManagedProcess } from './managed-process';
import { looksLikePortInUse, PortInUseError, withPortRetry } from './port-retry';
import { removeTempDir } from './temp-dir';
import { waitUntil } from './wait-until';

/**
 * Starts the server process on `port` and resolves once it serves requests.
 * Must throw PortInUseError if the port could not be bound, and must not leave
 * the process running when it throws (see awaitReady).
 */
type Launch = (port: number) => Promise<ManagedProcess>;

export interface LifecycleOptions {
  readonly name: string;
  /** Temp dir holding the server's files; removed by dispose(). */
  readonly dir: string;
  /** Signal for a clean shutdown (SIGTERM for most, SIGINT = postgres "fast"). */
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs?: number;
  readonly launch: Launch;
}

/** How long a restart waits for the previous process to release the port. */
const PORT_RELEASE_TIMEOUT_MS = 10_000;
/** How long to wait for a dead process's last output when classifying a failure. */
const OUTPUT_DRAIN_MS = 500;

/**
 * Waits until `probe` succeeds, failing fast if the process exits meanwhile.
 * On any failure the process is killed, and a bind conflict is reported as
 * PortInUseError so that the caller can retry on another port.
 */
export async function awaitReady(
  proc: ManagedProcess,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  try {
    await waitUntil(
      `${proc.name} (pid ${proc.pid}) to accept connections`,
      timeoutMs,
      async () => {
        if (!proc.running) throw new Error(`${proc.name} exited during startup`);
        return await probe();
      },
      { intervalMs: 100, details: () => proc.describe() },
    );
  } catch (error) {
    const exitedByItself = !proc.running;
    await proc.kill();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([proc.outputClosed, new Promise((resolve) => (timer = setTimeout(resolve, OUTPUT_DRAIN_MS)))]);
    clearTimeout(timer);
    if (looksLikePortInUse(proc.output())) throw new PortInUseError(proc.describe());
    if (exitedByItself) throw new Error(`${proc.name} exited during startup: ${proc.describe()}`, { cause: error });
    throw error;
  }
}

/** Runs `body`; if it throws, deletes `dir` (a server that never started) and rethrows. */
export async function removingDirOnFailure<T>(dir: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

/**
 * What every throwaway server gives its test; each server's own interface extends it with what
 * is particular to it (a URL, createDatabase...) and says what stop() and restart() mean for it.
 */
export interface ThrowawayServer {
  readonly port: number;
  /** The server's temp dir, removed by dispose(). */
  readonly dir: string;
  /** pid of the running server process, undefined while stopped. */
  readonly pid: number | undefined;
  /** Recent stdout+stderr of the server, for debugging. */
  output(): string;
  /** Clean shutdown; waits until the process (and its children) have exited. */
  stop(): Promise<void>;
  /** SIGKILL (simulated crash); waits until the process and its children are gone. */
  kill(): Promise<void>;
  /** Starts again on the SAME port with the SAME files (stops first if running). */
  restart(): Promise<void>;
  /** Stops and deletes the temp dir. Call from `after`/`finally`. */
  dispose(): Promise<void>;
}

export class ServerLifecycle {
  private proc: ManagedProcess | undefined;
  private disposed = false;

  private constructor(
    readonly port: number,
    private readonly options: LifecycleOptions,
    proc: ManagedProcess,
  ) {
    this.proc = proc;
  }

  /** Launches on a fresh free port, retrying on bind races. */
  static async start(options: LifecycleOptions): Promise<ServerLifecycle> {
    return await removingDirOnFailure(options.dir, () =>
      withPortRetry(async (port) => new ServerLifecycle(port, options, await options.launch(port))),
    );
  }

  /** Launches on a port chosen by the caller (nginx: the port is in its config). */
  static async startOnPort(options: LifecycleOptions, port: number): Promise<ServerLifecycle> {
    return await removingDirOnFailure(
      options.dir,
      async () => new ServerLifecycle(port, options, await options.launch(port)),
    );
  }

  /**
   * The handle a start function returns: `extra` (what is particular to the server) plus the
   * ThrowawayServer members, with `pid` read live. `output` replaces the process output (nginx
   * adds its error.log).
   */
  handle<T extends object>(extra: T, output: () => string = () => this.output()): NoInfer<T> & ThrowawayServer {
    const pid = (): number | undefined => this.pid;
    const common: ThrowawayServer = {
      port: this.port,
      dir: this.options.dir,
      get pid() {
        return pid();
      },
      output,
      stop: () => this.stop(),
      kill: () => this.kill(),
      restart: () => this.restart(),
      dispose: () => this.dispose(),
    };
    // defineProperties, not a spread: a spread would read `pid` once instead of on each access.
    return Object.defineProperties(extra, Object.getOwnPropertyDescriptors(common)) as T & ThrowawayServer;
  }

  /** pid of the running server process, undefined while stopped. */
  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Recent stdout+stderr of the current (or last) server process. */
  output(): string {
    return this.proc?.output() ?? '';
  }

  /** Clean shutdown; waits until the process and its children are gone. No-op when stopped. */
  async stop(): Promise<void> {
    if (this.proc?.running) await this.proc.terminate(this.options.stopSignal, this.options.stopTimeoutMs);
  }

  /** Crash: SIGKILL to the process and its children; waits until they are gone. No-op when stopped. */
  async kill(): Promise<void> {
    if (this.proc?.running) await this.proc.kill();
  }

  /** Starts again on the same port with the same files; stops first if running. */
  async restart(): Promise<void> {
    if (this.disposed) throw new Error(`${this.options.name}: restart() after dispose()`);
    await this.stop();
    try {
      await waitUntil(`port ${this.port} to be released for ${this.options.name}`, PORT_RELEASE_TIMEOUT_MS, () =>
        isPortFree(this.port),
      );
    } catch (error) {
      throw new Error(`${this.options.name}: cannot restart on port ${this.port}, something else is listening there`, {
        cause: error,
      });
    }
    try {
      this.proc = await this.options.launch(this.port);
    } catch (error) {
      if (error instanceof PortInUseError) {
        throw new Error(`${this.options.name}: port ${this.port} was taken by another process before restart`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Stops the server (SIGKILL if it does not stop cleanly) and deletes its temp dir. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.stop();
    } catch {
      // stop() already escalated to SIGKILL; the files can go either way.
    } finally {
      await this.kill();
      await removeTempDir(this.options.dir);
    }
  }
}
