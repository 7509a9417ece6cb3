import { userInfo } from 'node:os';
import { ConfigError } from '../env-reader';
import { createLogger } from '../logger';
import { readConsoleConfig, type ConsoleConfig } from './config';
import { createCoreApi } from './core-api';
import { EventFeed } from './event-feed';
import { startConsole } from './server';

/** The operators' console: a client of the core's gRPC API that serves HTML (docs/operating.md "Console"). */
async function main(): Promise<void> {
  let config: ConsoleConfig;
  try {
    config = readConsoleConfig(process.env, { localUser: safeUserName() });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`payment-callback console: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger('payment-callback-console', config.logLevel);
  const api = createCoreApi(config);
  const feed = new EventFeed(api, log);
  feed.start();
  const running = await startConsole(config, { api, feed, log }).catch((e: unknown) => {
    log.fatal({ err: e }, 'start-up failed');
    process.exit(1);
  });
  log.info(
    {
      url: running.url,
      core: config.coreTarget,
      token: config.coreToken ? 'configured' : 'none',
      identity:
        config.identity.kind === 'local'
          ? `local (${config.identity.localOperator})`
          : `${config.identity.userHeader} from ${config.identity.trustedProxies.join(', ')}`,
    },
    'payment-callback console listening',
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    feed.stop();
    running.close().then(
      () => {
        api.close();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}

void main();
