// Resolving an OS account to uid/gid, for servers that refuse to run as root
// (PostgreSQL). We spawn them with Node's uid/gid options instead of wrapping
// them in runuser/su: the server then stays our direct child, so its pid is
// the server's pid and signals reach it without an intermediate process.

import { runCommand } from './run-command';

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

async function idNumber(flag: '-u' | '-g', name: string): Promise<number> {
  let stdout: string;
  try {
    ({ stdout } = await runCommand('id', [flag, name], { timeoutMs: 5_000 }));
  } catch (error) {
    throw new Error(`OS user "${name}" not found (id ${flag} ${name} failed)`, { cause: error });
  }
  const value = Number(stdout.trim());
  if (!Number.isInteger(value) || stdout.trim() === '') {
    throw new Error(`id ${flag} ${name} printed ${JSON.stringify(stdout)}, expected a number`);
  }
  return value;
}

/** uid and gid of the account `name` (via `id -u` / `id -g`). */
export async function lookupUser(name: string): Promise<SystemUser> {
  const [uid, gid] = await Promise.all([idNumber('-u', name), idNumber('-g', name)]);
  return { name, uid, gid };
}

/** True when this process runs as root. */
export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
