import type { Logger } from 'pino';
import { ConfigError } from './env-reader';

// The process shell the core, the gateway and the console share: they differ in what they start,
// not in how a bad configuration, a failed start-up or a stop signal ends the process.

/**
 * Reads the configuration, or exits 2 with every problem on stderr (before a logger exists).
 *
 * readConfigOrExit('gateway', () => readGatewayConfig(process.env))
 *   => the config, or "payment-callback gateway: CORE_TARGET is required" and exit code 2
 */
export function readConfigOrExit<T>(service: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`payment-callback ${service}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Waits for `starting`; a failure is logged as fatal and exits 1. */
export async function startedOrExit<T>(log: Logger, starting: Promise<T>): Promise<T> {
  return await starting.catch((e: unknown) => {
    log.fatal({ err: e }, 'start-up failed');
    process.exit(1);
  });
}

/**
 * On SIGTERM or SIGINT, runs `shutdown` once and exits 0, or 1 if it fails. A repeated signal is
 * logged and waits for the same shutdown.
 */
export function exitAfterShutdownOnSignal(log: Logger, shutdown: () => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    log.info({ signal }, 'signal received');
    if (stopping) return;
    stopping = shutdown().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a second signal (Ctrl-C reaches the whole process group, and a supervisor
  // may repeat SIGTERM) must not fall back to the default action and kill the drain.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
