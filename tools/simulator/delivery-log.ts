import { createWriteStream, type WriteStream } from 'node:fs';
import type { AttemptRecord, DeliveryResult } from './sender';

/** The first line of a log: what was run. */
interface RunRecord {
  readonly type: 'run';
  readonly at: string;
  readonly url: string;
  readonly runId: string;
  readonly schedule: string;
  readonly timeScale: number;
  readonly notifications: number;
  readonly [key: string]: unknown;
}

export type LogRecord =
  RunRecord | AttemptRecord | DeliveryResult | { readonly type: 'summary'; readonly [key: string]: unknown };

/** Reply bodies are kept to this many characters in the log. */
export const LOGGED_BODY_CHARS = 512;

/**
 * The delivery log: one JSON object per line for every attempt (reply status and body, latency),
 * every delivery's end, and the summary. Kept in memory as well, for the summary and for tests.
 */
export class DeliveryLog {
  readonly attempts: AttemptRecord[] = [];
  readonly deliveries: DeliveryResult[] = [];
  private readonly stream: WriteStream | undefined;
  private failed: Error | undefined;

  /** `path` undefined: in memory only. */
  constructor(readonly path?: string) {
    if (path) {
      this.stream = createWriteStream(path, { flags: 'w', encoding: 'utf8' });
      this.stream.on('error', (e) => {
        this.failed = e;
      });
    }
  }

  write(record: LogRecord): void {
    if (record.type === 'attempt') {
      const trimmed = { ...record, body: record.body === null ? null : record.body.slice(0, LOGGED_BODY_CHARS) };
      this.attempts.push(trimmed);
      this.line(trimmed);
      return;
    }
    if (record.type === 'delivery') this.deliveries.push(record);
    this.line(record);
  }

  /** Flushes and closes the file; rejects if any write failed. */
  async close(): Promise<void> {
    const stream = this.stream;
    if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
    if (this.failed) throw this.failed;
  }

  private line(record: LogRecord): void {
    this.stream?.write(`${JSON.stringify(record)}\n`);
  }
}

/** Reads a JSONL log back (for tools and tests). */
export function parseLogLines(text: string): LogRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogRecord);
}
