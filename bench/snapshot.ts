// Runs the benchmark from a private copy of the build.
//
// dist/ is shared: a `tsc` run by someone else during the ten minutes of a benchmark would
// replace the code under test half-way (the profile run, the monolith and the trivial core start
// processes late). The copy is what was built when the benchmark started: dist/, proto/ (read at
// run time by reflection), gateway/nginx.conf, and node_modules as a symlink.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../harness/temp-dir';

const SNAPSHOT_ENV = 'BENCH_SNAPSHOT_OF';

/** The repository the results belong to (the original, also when running from the copy). */
export function repositoryRoot(): string {
  return process.env[SNAPSHOT_ENV] ?? path.resolve(__dirname, '..', '..');
}

export function inSnapshot(): boolean {
  return process.env[SNAPSHOT_ENV] !== undefined;
}

/** Copies the build, runs `dist/bench/run.js args` from the copy, removes it; resolves to the exit code. */
export async function runFromSnapshot(args: readonly string[]): Promise<number> {
  const root = path.resolve(__dirname, '..', '..');
  const snap = await makeTempDir('bench-build', 0o755);
  try {
    fs.cpSync(path.join(root, 'dist'), path.join(snap, 'dist'), { recursive: true });
    fs.cpSync(path.join(root, 'proto'), path.join(snap, 'proto'), { recursive: true });
    fs.mkdirSync(path.join(snap, 'gateway'));
    fs.copyFileSync(path.join(root, 'gateway', 'nginx.conf'), path.join(snap, 'gateway', 'nginx.conf'));
    fs.copyFileSync(path.join(root, 'package.json'), path.join(snap, 'package.json'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(snap, 'node_modules'));
    const child = spawn(process.execPath, [path.join(snap, 'dist', 'bench', 'run.js'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, [SNAPSHOT_ENV]: root },
    });
    // Ctrl-C reaches the child too (same process group); it stops everything and exits, and we
    // wait for that instead of dying first.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    return code;
  } finally {
    await removeTempDir(snap);
  }
}
