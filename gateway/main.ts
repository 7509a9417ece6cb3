import { ConfigError } from '../src/env-reader';
import { createLogger } from '../src/logger';
import { readGatewayConfig, type GatewayConfig } from './config';
import { createCoreClient } from './core-client';
import { startGateway } from './gateway-server';

/** The gateway's entry point: config, start, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = readGatewayConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`payment-callback gateway: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger('payment-callback-gateway', config.logLevel);
  const gateway = await startGateway(config, createCoreClient(config.coreTarget, { tls: config.coreTls }), log).catch(
    (e: unknown) => {
      log.fatal({ err: e }, 'start-up failed');
      process.exit(1);
    },
  );
  const stop = (signal: string): void => {
    log.info({ signal }, 'signal received');
    gateway.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: a second signal (Ctrl-C reaches the whole process group, and a supervisor
  // may repeat SIGTERM) must not fall back to the default action and kill the drain.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
