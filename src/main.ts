import { ConfigError } from './env-reader';
import { readCoreConfig, readMerchantsConfig } from './config';
import { startCore } from './core';
import { createLogger } from './logger';

/** The core's entry point: config, start, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = readCoreConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`payment-callback core: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger('payment-callback-core', config.logLevel);
  // Merchants (and their key files) are the one part of the configuration read again later: on
  // SIGHUP, and every MERCHANTS_RELOAD_INTERVAL_MS when set.
  const core = await startCore(config, log, undefined, { loadMerchants: () => readMerchantsConfig(process.env) }).catch(
    (e: unknown) => {
      log.fatal({ err: e }, 'start-up failed');
      process.exit(1);
    },
  );
  const stop = (signal: string): void => {
    log.info({ signal }, 'signal received');
    core.shutdown().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'signal received: reloading merchants');
    core.reloadMerchants('SIGHUP');
  });
  // `on`, not `once`: a second signal (Ctrl-C reaches the whole process group, and a supervisor
  // may repeat SIGTERM) must not fall back to the default action and kill the drain.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
