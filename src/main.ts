import { readCoreConfig, readMerchantsConfig } from './config';
import { startCore } from './core';
import { createLogger } from './logger';
import { exitAfterShutdownOnSignal, readConfigOrExit, startedOrExit } from './process-shell';

/** The core's entry point: config, start, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = readConfigOrExit('core', () => readCoreConfig(process.env));
  const log = createLogger('payment-callback-core', config.logLevel);
  // Merchants (and their key files) are the one part of the configuration read again later: on
  // SIGHUP, and every MERCHANTS_RELOAD_INTERVAL_MS when set.
  const core = await startedOrExit(
    log,
    startCore(config, log, undefined, { loadMerchants: () => readMerchantsConfig(process.env) }),
  );
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'signal received: reloading merchants');
    core.reloadMerchants('SIGHUP');
  });
  exitAfterShutdownOnSignal(log, () => core.shutdown());
}

void main();
