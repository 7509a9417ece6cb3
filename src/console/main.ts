import { userInfo } from 'node:os';
import { createLogger } from '../logger';
import { exitAfterShutdownOnSignal, readConfigOrExit, startedOrExit } from '../process-shell';
import { readConsoleConfig } from './config';
import { createCoreApi } from './core-api';
import { EventFeed } from './event-feed';
import { startConsole } from './server';

/** The operators' console: a client of the core's gRPC API that serves HTML (docs/operating.md "Console"). */
async function main(): Promise<void> {
  const config = readConfigOrExit('console', () => readConsoleConfig(process.env, { localUser: safeUserName() }));
  const log = createLogger('payment-callback-console', config.logLevel);
  const api = createCoreApi(config);
  const feed = new EventFeed(api, log);
  feed.start();
  const running = await startedOrExit(log, startConsole(config, { api, feed, log }));
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
  exitAfterShutdownOnSignal(log, async () => {
    feed.stop();
    await running.close();
    api.close();
  });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}

void main();
