// Temporary directories for throwaway servers (data dirs, sockets, configs).
//
// Every directory is named `payment-callback-*` under os.tmpdir(), so leftovers
// from a crashed run are easy to recognise and delete by hand. Directories that
// are still registered when the process exits are removed then, unless
// TEST_KEEP_TEMP=1 is set to keep them for post-mortem debugging.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onExitCleanup } from './exit-cleanup';

const TEMP_DIR_PREFIX = 'payment-callback-';

const keepOnExit = process.env['TEST_KEEP_TEMP'] === '1';
const unregisterByDir = new Map<string, () => void>();

/**
 * Creates a fresh directory `<os.tmpdir()>/payment-callback-<label>-XXXXXX`.
 * mkdtemp creates it with mode 0700; pass `mode` (e.g. 0o755) when a process
 * running as another user (nginx workers, postgres) must traverse it.
 */
export async function makeTempDir(label: string, mode?: number): Promise<string> {
  const safeLabel = label.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `${TEMP_DIR_PREFIX}${safeLabel}-`));
  if (mode !== undefined) await fs.promises.chmod(dir, mode);
  if (!keepOnExit) {
    unregisterByDir.set(
      dir,
      onExitCleanup('files', () => fs.rmSync(dir, { recursive: true, force: true })),
    );
  }
  return dir;
}

/** Removes a directory made by makeTempDir (missing directories are fine). */
export async function removeTempDir(dir: string): Promise<void> {
  // Refuse anything that is not one of ours: a bug passing '/' or a data dir of
  // the shared services must not turn into `rm -rf`.
  const resolved = path.resolve(dir);
  if (path.dirname(resolved) !== path.resolve(os.tmpdir()) || !path.basename(resolved).startsWith(TEMP_DIR_PREFIX)) {
    throw new Error(`removeTempDir: refusing to remove ${resolved}: not a ${TEMP_DIR_PREFIX}* temp dir`);
  }
  await fs.promises.rm(resolved, { recursive: true, force: true, maxRetries: 3 });
  unregisterByDir.get(dir)?.();
  unregisterByDir.delete(dir);
}
