import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

/**
 * JSON logs on stdout. Paths that could carry secrets are redacted even if a caller logs a whole
 * object by mistake.
 */
export function createLogger(name: string, level: LogLevel): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['apiKey', '*.apiKey', 'api_key', '*.api_key', 'sign', '*.sign', 'fields.sign', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  });
}
