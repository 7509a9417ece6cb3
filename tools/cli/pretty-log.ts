import { Transform, type TransformCallback } from 'node:stream';

/**
 * `make run` on a terminal: pino's JSON lines as one readable line each, e.g.
 *
 *   prettyLine('{"level":40,"time":"2026-01-05T08:00:01.234Z","service":"payment-callback-core","msg":"notification REJECTED","code":"INVALID_SIGNATURE"}')
 *   => '08:00:01.234 WARN  core    notification REJECTED  code=INVALID_SIGNATURE'
 *
 * Only for people: make run keeps JSON when stdout is not a terminal (a file, a pipe, CI), and
 * production never uses this. A line that is not a JSON object passes through unchanged.
 */
const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** What every line has, or says in its own columns. */
const SKIP = new Set(['level', 'time', 'msg', 'service', 'name', 'pid', 'hostname']);
const COLOURS: Readonly<Record<string, string>> = {
  WARN: '\x1b[33m',
  ERROR: '\x1b[31m',
  FATAL: '\x1b[31m',
  DEBUG: '\x1b[90m',
  TRACE: '\x1b[90m',
};

export function prettyLine(line: string, colour = false): string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return line;
  const r = o as Record<string, unknown>;
  const text = (v: unknown): string =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : v === undefined ? '' : JSON.stringify(v);
  const level = typeof r['level'] === 'number' ? (LEVELS[r['level']] ?? String(r['level'])) : text(r['level']);
  const time = typeof r['time'] === 'string' ? r['time'].slice(11, 23) : '';
  const service = text(r['service'] ?? r['name']).replace(/^payment-callback-/, '');
  const rest = Object.entries(r)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const head = `${time} ${level.padEnd(5)} ${service.padEnd(7)} ${text(r['msg'])}`;
  const out = rest.length > 0 ? `${head}  ${rest.join(' ')}` : head;
  const c = colour ? COLOURS[level] : undefined;
  return c ? `${c}${out}\x1b[0m` : out;
}

/** A stream that turns JSON lines into prettyLine()s; a partial last line waits for its end. */
export function prettyLogStream(colour: boolean): Transform {
  let pending = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback): void {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      done(null, lines.map((l) => `${prettyLine(l, colour)}\n`).join(''));
    },
    flush(done: TransformCallback): void {
      done(null, pending ? `${prettyLine(pending, colour)}\n` : '');
    },
  });
}
