// A throwaway redis-server for integration tests: own process, own free port
// on 127.0.0.1, own temp dir, no persistence. Never the shared redis on 6379.

import { ManagedProcess } from './managed-process';
import { redisPing } from './redis-ping';
import { awaitReady, ServerLifecycle, type ThrowawayServer } from './server-lifecycle';
import { makeTempDir } from './temp-dir';

const READY_TIMEOUT_MS = 10_000;
// Logged only after the listening socket is bound. Requiring it (besides PING)
// guarantees the PONG came from our process, not from whoever won a port race.
const READY_LOG_LINE = 'Ready to accept connections';

export interface RedisServer extends ThrowawayServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  // Persistence is off: restart() starts empty, kill() loses nothing a test could read back.
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
  return lifecycle.handle({ url: `redis://127.0.0.1:${lifecycle.port}` });
}
