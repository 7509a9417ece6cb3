// Locating the PostgreSQL server binaries (initdb, postgres).
//
// Debian keeps them outside PATH in /usr/lib/postgresql/<major>/bin. We ask
// `pg_config --bindir` first, but pg_config ships with libpq-dev and can belong
// to a different major version than the installed server, so every candidate
// must actually contain both initdb and postgres; then we fall back to the
// highest installed /usr/lib/postgresql/<major>/bin.

import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from './run-command';

const DEBIAN_ROOT = '/usr/lib/postgresql';

export interface PostgresBinaries {
  readonly bindir: string;
  readonly initdb: string;
  readonly postgres: string;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function pgConfigBindir(): Promise<string | undefined> {
  try {
    const { stdout } = await runCommand('pg_config', ['--bindir'], { timeoutMs: 5_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined; // pg_config not installed: rely on the directory scan.
  }
}

function debianBindirs(): string[] {
  let versions: string[];
  try {
    versions = fs.readdirSync(DEBIAN_ROOT);
  } catch {
    return [];
  }
  return versions
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number(b) - Number(a)) // highest version first
    .map((version) => path.join(DEBIAN_ROOT, version, 'bin'));
}

let cached: Promise<PostgresBinaries> | undefined;

/** Finds initdb and postgres; throws listing the places searched. */
export function findPostgresBinaries(): Promise<PostgresBinaries> {
  cached ??= (async () => {
    const candidates = [await pgConfigBindir(), ...debianBindirs()].filter((dir): dir is string => dir !== undefined);
    for (const bindir of candidates) {
      const initdb = path.join(bindir, 'initdb');
      const postgres = path.join(bindir, 'postgres');
      if (isExecutable(initdb) && isExecutable(postgres)) return { bindir, initdb, postgres };
    }
    throw new Error(
      `PostgreSQL server binaries (initdb, postgres) not found in: ${candidates.join(', ') || '(no candidates)'}; ` +
        'run harness/ensure-binaries.sh',
    );
  })();
  // Do not cache a failure: a later call may succeed after installation.
  cached.catch(() => (cached = undefined));
  return cached;
}
