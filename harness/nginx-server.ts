// A throwaway nginx for integration tests, running a config supplied by the
// test (e.g. a reverse proxy in front of the service under test).
//
// nginx is started with `-p <dir>`, so relative paths in the config resolve
// inside the temp dir. nginx's compiled-in defaults point at system locations
// (/run/nginx.pid, /var/log/nginx, /var/lib/nginx): as root they are writable
// and a test would clobber the machine's own nginx files, so configs should
// include the directives from nginxTempPaths().

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ManagedProcess } from './managed-process';
import { isListeningOn } from './port-owner';
import { descendantPids } from './process-tree';
import { awaitReady, removingDirOnFailure, ServerLifecycle, type ThrowawayServer } from './server-lifecycle';
import { makeTempDir } from './temp-dir';

const DEFAULT_READY_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 1_000;
const ERROR_LOG_TAIL_CHARS = 4_000;

/** Files and directories for nginx inside its temp dir, plus ready-made directives. */
export interface NginxTempPaths {
  readonly dir: string;
  readonly configFile: string;
  readonly pidFile: string;
  readonly errorLog: string;
  readonly accessLog: string;
  readonly clientBodyTemp: string;
  readonly proxyTemp: string;
  readonly fastcgiTemp: string;
  readonly uwsgiTemp: string;
  readonly scgiTemp: string;
  /** `pid` and `error_log`, for the main (top-level) context. */
  readonly mainDirectives: string;
  /** `access_log` and all `*_temp_path`s, for the `http` context. */
  readonly httpDirectives: string;
}

export function nginxTempPaths(dir: string): NginxTempPaths {
  const file = (name: string): string => path.join(dir, name);
  const paths = {
    dir,
    configFile: file('nginx.conf'),
    pidFile: file('nginx.pid'),
    errorLog: file('error.log'),
    accessLog: file('access.log'),
    clientBodyTemp: file('client_body_temp'),
    proxyTemp: file('proxy_temp'),
    fastcgiTemp: file('fastcgi_temp'),
    uwsgiTemp: file('uwsgi_temp'),
    scgiTemp: file('scgi_temp'),
  };
  return {
    ...paths,
    mainDirectives: [`pid ${paths.pidFile};`, `error_log ${paths.errorLog} info;`].join('\n'),
    httpDirectives: [
      `access_log ${paths.accessLog};`,
      `client_body_temp_path ${paths.clientBodyTemp};`,
      `proxy_temp_path ${paths.proxyTemp};`,
      `fastcgi_temp_path ${paths.fastcgiTemp};`,
      `uwsgi_temp_path ${paths.uwsgiTemp};`,
      `scgi_temp_path ${paths.scgiTemp};`,
    ].join('\n'),
  };
}

/** The config text, or a function building it from the temp dir's paths. */
export type NginxConfig = string | ((paths: NginxTempPaths) => string);

export interface NginxOptions {
  /** The port the config listens on; readiness = our nginx accepting connections on 127.0.0.1:port. */
  readonly port: number;
  readonly readyTimeoutMs?: number;
}

/** pid is the master's; stop() and kill() wait for its workers too; output() ends with error.log. */
export interface NginxServer extends ThrowawayServer {
  readonly paths: NginxTempPaths;
}

/** Debian puts nginx in /usr/sbin, which is not on a normal user's PATH. */
function nginxPath(): string {
  return fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** The value of a top-level `daemon` directive in the config, ignoring comments. */
function daemonSetting(configText: string): string | undefined {
  const withoutComments = configText.replace(/#[^\n]*/g, '');
  return /(?:^|[;{}\s])daemon\s+(\w+)\s*;/.exec(withoutComments)?.[1];
}

function canConnect(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function errorLogTail(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-ERROR_LOG_TAIL_CHARS);
  } catch {
    return '';
  }
}

export async function startNginx(config: NginxConfig, options: NginxOptions): Promise<NginxServer> {
  // 0755: the worker processes run as "nobody" when nginx starts as root and
  // must be able to traverse the directory.
  const dir = await makeTempDir('nginx', 0o755);
  const paths = nginxTempPaths(dir);
  const output = (proc: { output(): string }): string => {
    const log = errorLogTail(paths.errorLog);
    return log === '' ? proc.output() : `${proc.output()}\n--- ${paths.errorLog} ---\n${log}`;
  };

  const lifecycle = await removingDirOnFailure(dir, async () => {
    const configText = typeof config === 'string' ? config : config(paths);
    const daemon = daemonSetting(configText);
    if (daemon !== undefined && daemon !== 'off') {
      // A daemonising nginx leaves our child process at once; we could neither
      // wait for it nor stop it.
      throw new Error(`startNginx: the config says "daemon ${daemon};", only "daemon off;" is supported`);
    }
    await fs.promises.writeFile(paths.configFile, configText, { mode: 0o644 });

    const launch = async (port: number): Promise<ManagedProcess> => {
      const proc = await ManagedProcess.spawn(
        `nginx :${port}`,
        nginxPath(),
        [
          '-p',
          `${dir}/`,
          '-c',
          paths.configFile,
          // Errors before the config's own error_log takes effect go to
          // stderr (captured) instead of the system's /var/log/nginx.
          '-e',
          'stderr',
          // Stay in the foreground as our child, unless the config says so itself
          // (nginx rejects a duplicated directive).
          ...(daemon === undefined ? ['-g', 'daemon off;'] : []),
        ],
        { cwd: dir },
      );
      try {
        await awaitReady(
          proc,
          options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
          async () => (await canConnect(port)) && isListeningOn([proc.pid, ...descendantPids(proc.pid)], port),
        );
      } catch (error) {
        const log = errorLogTail(paths.errorLog);
        if (error instanceof Error && log !== '') error.message += `\n--- ${paths.errorLog} ---\n${log}`;
        throw error;
      }
      return proc;
    };

    return await ServerLifecycle.startOnPort({ name: 'nginx', dir, stopSignal: 'SIGTERM', launch }, options.port);
  });

  return lifecycle.handle({ paths }, () => output(lifecycle));
}
