// Bounded polling: every wait in the test support library goes through here,
// so no test can hang forever on a server that never comes up or never dies.

class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

export interface WaitOptions {
  /** Pause between attempts; default 50 ms. */
  readonly intervalMs?: number;
  /** Extra context (e.g. the server's output tail) appended to the timeout error. */
  readonly details?: () => string;
}

export function sleep(ms: number): Promise<void> {
  // A referenced timer on purpose: it keeps the event loop alive while we wait
  // on children that are unref'd (see managed-process.ts).
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `check` until it returns true, or throws WaitTimeoutError after
 * `timeoutMs`. `check` should bound its own I/O (connect timeouts); a check
 * still pending at the deadline is abandoned. If `check` throws, the wait stops
 * immediately with that error: use that for "this will never succeed", such as
 * the server process having exited.
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<void> {
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), remaining);
    });
    try {
      if (await Promise.race([Promise.resolve().then(check), expired])) return;
    } finally {
      clearTimeout(timer);
    }
    await sleep(Math.max(0, Math.min(intervalMs, deadline - Date.now())));
  }
  const details = options.details?.();
  throw new WaitTimeoutError(`Timed out after ${timeoutMs} ms waiting for ${what}` + (details ? `\n${details}` : ''));
}
