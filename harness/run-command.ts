// Runs a short-lived command (initdb, mariadb-install-db, id, pg_config) to
// completion, with captured output and a hard time limit.

import { ManagedProcess, type SpawnOptions } from './managed-process';

const OUTPUT_DRAIN_MS = 2_000;

export interface RunOptions extends SpawnOptions {
  /** Default 60 s; the command is SIGKILLed when it runs longer. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  /** stdout only (bounded tail). */
  readonly stdout: string;
  /** stdout and stderr interleaved (bounded tail). */
  readonly output: string;
}

/** Runs `command args...`; throws with the output tail unless it exits with code 0. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const name = `${command} ${args.join(' ')}`;
  const proc = await ManagedProcess.spawn(name, command, args, options);
  try {
    await proc.waitForExit(options.timeoutMs ?? 60_000);
  } catch (error) {
    await proc.kill();
    throw error;
  }
  // 'exit' may arrive before the last output chunk; give the pipes a moment.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([proc.outputClosed, new Promise((resolve) => (timer = setTimeout(resolve, OUTPUT_DRAIN_MS)))]);
  clearTimeout(timer);
  if (proc.exit?.code !== 0) throw new Error(`command failed: ${proc.describe()}`);
  return { stdout: proc.stdout(), output: proc.output() };
}
