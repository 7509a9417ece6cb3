import { createLogger } from '../src/logger';
import { exitAfterShutdownOnSignal, readConfigOrExit, startedOrExit } from '../src/process-shell';
import { readGatewayConfig } from './config';
import { createCoreClient } from './core-client';
import { startGateway } from './gateway-server';

/** The gateway's entry point: config, start, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = readConfigOrExit('gateway', () => readGatewayConfig(process.env));
  const log = createLogger('payment-callback-gateway', config.logLevel);
  const gateway = await startedOrExit(
    log,
    startGateway(config, createCoreClient(config.coreTarget, { tls: config.coreTls }), log),
  );
  exitAfterShutdownOnSignal(log, () => gateway.shutdown());
}

void main();
