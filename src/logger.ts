import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

/**
 * JSON logs on stdout. Paths that could carry secrets are redacted even if a caller logs a whole
 * object by mistake.
 *
 * Written asynchronously: under load, lines that arrive while a write is in flight go out with
 * the next one instead of one blocking write(2) each (a per-line write was a tenth of the
 * gateway's CPU in bench/). pino flushes what is buffered when the process exits, including after
 * process.exit() and an uncaught exception; only a SIGKILL can lose the last lines, and every
 * decision is in the database anyway.
 */
export function createLogger(name: string, level: LogLevel): Logger {
  return pino(
    {
      name,
      level,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'apiKey',
          '*.apiKey',
          'api_key',
          '*.api_key',
          'sign',
          '*.sign',
          'fields.sign',
          'authorization',
          '*.authorization',
        ],
        censor: '[redacted]',
      },
    },
    // If stdout stalls, drop lines past 16 MiB of backlog rather than grow without bound.
    pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024 }),
  );
}
