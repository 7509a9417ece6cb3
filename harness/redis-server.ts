// A throwaway redis-server for integration tests: own process, own free port
// on 127.0.0.1, own temp dir, no persistence. Never the shared redis on 6379.

import { ManagedProcess } from './managed-process';
import { redisPing } from './redis-ping';
import { awaitReady, ServerLifecycle } from './server-lifecycle';
import { makeTempDir } from './temp-dir';

const READY_TIMEOUT_MS = 10_000;
// Logged only after the listening socket is bound. Requiring it (besides PING)
// guarantees the PONG came from our process, not from whoever won a port race.
const READY_LOG_LINE = 'Ready to accept connections';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The server's temp dir (its --dir). */
  readonly dir: string;
  /** pid of the running redis-server, undefined while stopped. */
  readonly pid: number | undefined;
  /** Recent stdout+stderr of the server, for debugging. */
  output(): string;
  /** SIGTERM; waits until the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL (simulated crash); waits until the process is gone. */
  kill(): Promise<void>;
  /** Starts again on the SAME port (stops first if running). Data is not kept: persistence is off. */
  restart(): Promise<void>;
  /** Stops and deletes the temp dir. Call from `after`/`finally`. */
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = await makeTempDir('redis');
  const launch = async (port: number): Promise<ManagedProcess> => {
    const proc = await ManagedProcess.spawn(
      `redis-server :${port}`,
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        // No RDB snapshots and no AOF: tests want a fast, empty server, and a
        // restart that starts empty is the predictable behaviour.
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        // Log to stdout, which we capture.
        '--logfile',
        '',
      ],
      { cwd: dir },
    );
    await awaitReady(
      proc,
      READY_TIMEOUT_MS,
      async () => proc.outputIncludes(READY_LOG_LINE) && (await redisPing(port)),
    );
    return proc;
  };
  const lifecycle = await ServerLifecycle.start({ name: 'redis-server', dir, stopSignal: 'SIGTERM', launch });
  return {
    port: lifecycle.port,
    url: `redis://127.0.0.1:${lifecycle.port}`,
    dir,
    get pid() {
      return lifecycle.pid;
    },
    output: () => lifecycle.output(),
    stop: () => lifecycle.stop(),
    kill: () => lifecycle.kill(),
    restart: () => lifecycle.restart(),
    dispose: () => lifecycle.dispose(),
  };
}
