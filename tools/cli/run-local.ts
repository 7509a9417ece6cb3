import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DEMO_V3_KEY_DIR, ensureDemoV3Keys } from './demo-v3-merchant';
import { prettyLogStream } from './pretty-log';

/**
 * `make run`: the core, the gateway and the operators' console side by side on the embedded
 * defaults (SQLite file, in-process lock) with the public demo merchant, unless the environment
 * says otherwise.
 * Ctrl-C stops them all gracefully.
 */
const root = join(__dirname, '..', '..');
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: process.env['DATABASE_URL'] ?? `sqlite:${join(root, 'data', 'payment-callback.sqlite')}`,
};
if (!process.env['CALLERS_FILE'] && !process.env['CALLERS_JSON'] && process.env['AUTH_DISABLED'] === undefined) {
  // A laptop: every local gRPC caller is trusted. The core logs it; production refuses it.
  env['AUTH_DISABLED'] = 'true';
}
if (!process.env['MERCHANTS_FILE'] && !process.env['MERCHANTS_JSON']) {
  env['MERCHANTS_FILE'] = join(root, 'config', 'demo-merchants.json');
  process.stderr.write(
    'make run: using the DEMO merchants from config/demo-merchants.json (mch_id 10000100, public key: never for real money)\n',
  );
  // The v3 demo merchant's keys are generated here, before the core reads the file that names them.
  const v3 = ensureDemoV3Keys(join(root, DEMO_V3_KEY_DIR));
  process.stderr.write(
    `make run: APIv3 demo merchant 1900000109, keys ${v3.created ? 'generated in' : 'from'} ${DEMO_V3_KEY_DIR}/ (make notify ARGS="--api v3")\n`,
  );
  // The console's search by out_trade_no tries the demo merchant.
  env['CONSOLE_MCH_IDS'] ??= '10000100';
}
// The console talks to the core make run starts, wherever GRPC_LISTEN puts it.
env['CONSOLE_CORE_TARGET'] ??= (process.env['GRPC_LISTEN'] ?? '127.0.0.1:50051').replace(/^0\.0\.0\.0:/, '127.0.0.1:');

const children: ChildProcess[] = [];
const pretty = process.stdout.isTTY;
let stopping = false;

function start(name: string, script: string): ChildProcess {
  // cwd: the demo merchants' key files are relative to the repository root.
  const child = spawn(process.execPath, [join(root, 'dist', script)], {
    env,
    cwd: root,
    stdio: pretty ? ['inherit', 'pipe', 'inherit'] : 'inherit',
  });
  // On a terminal, readable lines; anywhere else (a file, a pipe, CI) the JSON lines as they are.
  child.stdout?.pipe(prettyLogStream(process.stdout.hasColors?.() ?? false)).pipe(process.stdout, { end: false });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`make run: ${name} exited (${signal ?? code}); stopping\n`);
      stop(code ?? 1);
    }
  });
  children.push(child);
  return child;
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const c of children)
    c.once('exit', () => {
      if (--left <= 0) process.exit(code);
    });
}

start('core', 'src/main.js');
start('gateway', 'gateway/main.js');
start('console', 'src/console/main.js');
process.stderr.write(`make run: operators' console at http://${env['CONSOLE_LISTEN'] ?? '127.0.0.1:8090'}/\n`);
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
