// Last-resort cleanup when the test process ends without stopping its servers.
//
// A test that fails half-way (an assertion throws before `finally`, a timeout,
// Ctrl-C) must not leave redis/postgres/mariadb/nginx processes or hundreds of
// megabytes of data directories behind. Everything here runs synchronously,
// because the 'exit' event allows no asynchronous work.
//
// Processes are killed before directories are removed: a live postgres would
// keep writing into the directory we are deleting.

type Phase = 'processes' | 'files';
type Cleanup = () => void;

const cleanups: Record<Phase, Set<Cleanup>> = {
  processes: new Set<Cleanup>(),
  files: new Set<Cleanup>(),
};

let installed = false;

function runAll(): void {
  for (const phase of ['processes', 'files'] as const) {
    for (const cleanup of cleanups[phase]) {
      cleanups[phase].delete(cleanup);
      try {
        cleanup();
      } catch {
        // Best effort: one failed cleanup must not stop the others.
      }
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // If we are the only listener, installing it replaced Node's default
  // "terminate on signal" behaviour; restore it and re-raise so the process
  // still dies with the signal. Other listeners (e.g. the test runner) decide
  // for themselves.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, onSignal);
  }
}

/**
 * Registers a synchronous cleanup to run if the process exits (or gets
 * SIGINT/SIGTERM/SIGHUP) while it is still registered. Returns a function that
 * unregisters it, to be called once the resource was released normally.
 */
export function onExitCleanup(phase: Phase, cleanup: Cleanup): () => void {
  install();
  cleanups[phase].add(cleanup);
  return () => {
    cleanups[phase].delete(cleanup);
  };
}
