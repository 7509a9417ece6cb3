// The core and the gateway as real processes (the compiled entry points), for tests that stop,
// kill and restart them or put nginx in front of them.

import path from 'node:path';
import { freePort } from './free-port';
import { ManagedProcess, type ExitInfo } from './managed-process';
import { waitUntil } from './wait-until';

const DIST = path.join(__dirname, '..');

export interface ServiceProcess {
  readonly port: number;
  /** The live process, undefined while stopped. */
  readonly process: ManagedProcess | undefined;
  /** SIGTERM: the graceful path; resolves with how it exited. */
  stop(): Promise<ExitInfo | undefined>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same environment. */
  restart(): Promise<void>;
  output(): string;
}

async function startService(
  name: string,
  script: string,
  ready: string,
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<ServiceProcess> {
  let proc: ManagedProcess | undefined;
  let lastOutput = '';
  const launch = async (): Promise<void> => {
    const p = await ManagedProcess.spawn(name, process.execPath, [path.join(DIST, script)], { env });
    proc = p;
    await waitUntil(
      `${name} to listen on ${port}`,
      20_000,
      () => {
        if (!p.running) throw new Error(`${name} exited during start-up:\n${p.output()}`);
        return p.outputIncludes(ready);
      },
      { details: () => p.output() },
    );
  };
  await launch();
  return {
    port,
    get process() {
      return proc;
    },
    stop: async () => {
      if (!proc?.running) return proc?.exit;
      const p = proc;
      const exit = await p.terminate('SIGTERM', 20_000);
      lastOutput = p.output();
      proc = undefined;
      return exit;
    },
    kill: async () => {
      if (!proc?.running) return;
      await proc.kill();
      lastOutput = proc.output();
      proc = undefined;
    },
    restart: async () => {
      if (proc?.running) await proc.terminate('SIGTERM', 20_000);
      await launch();
    },
    output: () => proc?.output() ?? lastOutput,
  };
}

/** The environment a service gets: the test's PATH and nothing else of the developer's shell. */
function baseEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LOG_LEVEL: 'info', ...extra };
}

/** Starts `node dist/src/main.js` with `env` on a free gRPC port. */
export async function startCoreProcess(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
  const port = await freePort();
  return startService(
    'core',
    'src/main.js',
    'payment-callback core listening',
    baseEnv({ METRICS_LISTEN: 'off', AUTH_DISABLED: 'true', ...env, GRPC_LISTEN: `127.0.0.1:${port}` }),
    port,
  );
}

/** Starts `node dist/gateway/main.js` pointed at a core, on a free HTTP port. */
export async function startGatewayProcess(
  coreGrpcPort: number,
  env: Readonly<Record<string, string>> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  return startService(
    'gateway',
    'gateway/main.js',
    'payment-callback gateway listening',
    baseEnv({
      CORE_GRPC_TARGET: `127.0.0.1:${coreGrpcPort}`,
      GATEWAY_METRICS_LISTEN: 'off',
      ...env,
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
    }),
    port,
  );
}
