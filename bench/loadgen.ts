// The load generator: a separate Node process (forked by bench/run.ts) that sends pre-signed
// notifications over keep-alive HTTP/1.1 connections to 127.0.0.1 and records per-request
// latency in an HDR-like histogram.
//
// Each connection is a raw socket with one request in flight (no pipelining): request bytes are
// built once before the measured window, and the reply parser only reads the status line,
// Content-Length / chunked framing and Connection: close. That keeps the generator's own CPU
// small on a machine where it shares two cores with the system under test.
//
//   closed loop: `connections` clients, each sends its next request when the previous reply
//                arrives (throughput = what the system sustains at that concurrency).
//   open loop:   requests are due at a fixed rate whatever the replies do; latency is measured
//                from the time a request was DUE, so queueing in front of a busy connection
//                counts (no coordinated omission).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram, type SerializedHistogram } from './histogram';
import { renderBody, workItems, type ItemKind, type WorkloadSpec } from './workload';

export interface Target {
  readonly port: number;
  readonly path: string;
}

export type LoadgenRequest =
  | { readonly op: 'prepare'; readonly target: Target; readonly workload: WorkloadSpec }
  | { readonly op: 'run'; readonly run: RunSpec }
  | { readonly op: 'exit' };

export interface RunSpec {
  readonly mode: 'closed' | 'open';
  readonly connections: number;
  /** Not measured; latency and counts start after it. */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Open loop only: requests per second offered. */
  readonly rate?: number;
  readonly label: string;
  /** Start again from the first request when they run out (only where repeats change nothing). */
  readonly cycle?: boolean;
}

export type LoadgenEvent =
  | { readonly ev: 'prepared'; readonly count: number; readonly ms: number }
  | { readonly ev: 'window'; readonly phase: 'start' | 'end' }
  | { readonly ev: 'result'; readonly result: RunResult }
  | { readonly ev: 'error'; readonly message: string };

export interface NonSuccessReply {
  readonly kind: ItemKind;
  readonly status: number;
  /** The reply's return_msg; OTHER_MESSAGES once MAX_MESSAGES distinct ones were seen. */
  readonly message: string;
  readonly count: number;
}

export interface RunResult {
  readonly label: string;
  readonly mode: 'closed' | 'open';
  readonly connections: number;
  readonly offeredRate: number | undefined;
  /** Seconds between window start and end (shorter than asked when the requests ran out). */
  readonly windowS: number;
  /** Replies received inside the window. */
  readonly completed: number;
  readonly rps: number;
  readonly histogram: SerializedHistogram;
  /** Inside the window: HTTP status counts per kind of request. */
  readonly statusByKind: Record<string, Record<string, number>>;
  /** Inside the window: connections lost with a request in flight, or no reply in 15 s. */
  readonly errors: number;
  /**
   * Inside the window: the replies that were not 2xx, by kind, status and the reply's own
   * sentence (return_msg, or an APIv3 reply's message). The status alone does not say why (a 503
   * is a lock wait, a deadline or a database that stalled); the gateway's sentence narrows it.
   * Absent in results.json files written before it was recorded.
   */
  readonly nonSuccessReplies?: readonly NonSuccessReply[];
  /** Every request sent during the run (warm-up and drain included). */
  readonly sent: number;
  /** Open loop: requests that were due but never sent because the window ended first. */
  readonly unsent: number;
  readonly exhausted: boolean;
  /** Distinct orders that got an acknowledged (HTTP 200) reply, warm-up and drain included. */
  readonly ackedOrders: number;
  /** CPU seconds this process used inside the window. */
  readonly loadgenCpuS: number;
}

interface Prepared {
  readonly requests: Buffer[];
  readonly kinds: ItemKind[];
  readonly orders: Int32Array;
  readonly port: number;
}

const REQUEST_TIMEOUT_MS = 15_000;
/**
 * Distinct (kind, status, sentence) keys kept per run: the gateway's sentences are fixed, but a
 * core message may quote a value, and a storm of those must not grow the generator's memory.
 */
const MAX_MESSAGES = 64;
const OTHER_MESSAGES = '(other sentences)';
const RETURN_MSG = /<return_msg><!\[CDATA\[([\s\S]*?)\]\]><\/return_msg>/;
const V3_MESSAGE = /"message"\s*:\s*"((?:[^"\\]|\\.)*)"/;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

let prepared: Prepared | undefined;

function prepare(target: Target, workload: WorkloadSpec): Prepared {
  const items = workItems(workload);
  const requests: Buffer[] = new Array<Buffer>(items.length);
  const kinds: ItemKind[] = new Array<ItemKind>(items.length);
  const orders = new Int32Array(items.length);
  const cache = new Map<number, Buffer>();
  items.forEach((item, i) => {
    // Copies of one notification are byte-identical, as WeChat's retries are.
    const cacheKey = item.kind === 'dup' ? item.order : -1;
    let req = cacheKey >= 0 ? cache.get(cacheKey) : undefined;
    if (!req) {
      const body = Buffer.from(renderBody(workload.prefix, item), 'utf8');
      req = Buffer.concat([
        Buffer.from(
          `POST ${target.path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n` +
            `Content-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n`,
          'latin1',
        ),
        body,
      ]);
      if (cacheKey >= 0) cache.set(cacheKey, req);
    }
    requests[i] = req;
    kinds[i] = item.kind;
    orders[i] = item.kind === 'forged' ? -1 : item.order;
  });
  return { requests, kinds, orders, port: target.port };
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private socket: net.Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private inFlight: { index: number; startedAt: number; dueAt: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closeAfterReply = false;
  private connecting: Promise<void> | undefined;
  closed = false;

  constructor(
    private readonly port: number,
    private readonly onReply: (index: number, status: number, dueAt: number, body: ReplyBody) => void,
    private readonly onFailure: (index: number, dueAt: number) => void,
  ) {}

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  async send(index: number, request: Buffer, dueAt: number): Promise<void> {
    // Taken at once, so the connection counts as busy while it (re)connects.
    const job = { index, startedAt: performance.now(), dueAt };
    this.inFlight = job;
    if (this.closeAfterReply || !this.socket || this.socket.destroyed) {
      try {
        await this.connect();
      } catch (e) {
        if (this.inFlight === job) this.finish();
        throw e;
      }
    }
    this.timer = setTimeout(() => this.fail(), REQUEST_TIMEOUT_MS);
    this.socket?.write(request);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  private connect(): Promise<void> {
    const old = this.socket;
    this.socket = undefined;
    old?.destroy();
    this.closeAfterReply = false;
    this.buf = Buffer.alloc(0);
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: this.port });
      s.setNoDelay(true);
      s.once('connect', () => {
        this.socket = s;
        this.connecting = undefined;
        resolve();
      });
      s.on('error', (e) => {
        if (this.socket !== s) {
          this.connecting = undefined;
          reject(e);
        }
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('close', () => {
        if (this.socket === s && this.inFlight) this.fail();
      });
    });
    return this.connecting;
  }

  private fail(): void {
    const f = this.inFlight;
    this.finish();
    this.socket?.destroy();
    this.socket = undefined;
    if (f) this.onFailure(f.index, f.dueAt);
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = undefined;
    this.buf = Buffer.alloc(0);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const parsed = parseResponse(this.buf);
    if (!parsed) return;
    // finish() drops this.buf; the body is decoded from `reply` only when the status is not 2xx.
    const reply = this.buf;
    const f = this.inFlight;
    this.closeAfterReply = parsed.close;
    this.finish();
    if (f) this.onReply(f.index, parsed.status, f.dueAt, { buf: reply, from: parsed.bodyFrom });
  }
}

/** A reply's bytes, and where its body starts: decoded only when the reply is not 2xx. */
interface ReplyBody {
  readonly buf: Buffer;
  readonly from: number;
}

/** A complete HTTP/1.1 response in `b`, or undefined while more bytes are needed. */
function parseResponse(b: Buffer): { status: number; close: boolean; bodyFrom: number } | undefined {
  const headEnd = b.indexOf(CRLFCRLF);
  if (headEnd < 0) return undefined;
  const head = b.toString('latin1', 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/.test(head);
  const bodyFrom = headEnd + 4;
  let pos = bodyFrom;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) return b.length >= pos + Number(cl[1]) ? { status, close, bodyFrom } : undefined;
  if (!/\r\ntransfer-encoding:\s*chunked/.test(head)) return { status, close, bodyFrom };
  for (;;) {
    const lineEnd = b.indexOf(CRLF, pos);
    if (lineEnd < 0) return undefined;
    const size = parseInt(b.toString('latin1', pos, lineEnd), 16);
    if (size === 0) return b.indexOf(CRLF, lineEnd + 2) >= 0 ? { status, close, bodyFrom } : undefined;
    pos = lineEnd + 2 + size + 2;
    if (b.length < pos) return undefined;
  }
}

/**
 * The sentence a reply gives: v2's return_msg, APIv3's message, or the first 120 characters of
 * whatever else came back (nginx's own error page). Chunk-size lines of a chunked body are left
 * in: the gateway's replies are small and sent with a length, so they never split a sentence.
 *
 * replySentence('<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[LOCK_BUSY: ...]]></return_msg></xml>')
 *   => 'LOCK_BUSY: ...'
 */
export function replySentence(body: string): string {
  const m = RETURN_MSG.exec(body) ?? V3_MESSAGE.exec(body);
  if (m) return m[1] ?? '';
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1];
  return (title ?? body).replace(/\s+/g, ' ').trim().slice(0, 120) || '(empty body)';
}

async function run(spec: RunSpec): Promise<RunResult> {
  const p = prepared;
  if (!p) throw new Error('run before prepare');
  const hist = new LatencyHistogram();
  const statusByKind: Record<string, Record<string, number>> = {};
  const nonSuccess = new Map<string, NonSuccessReply>();
  const acked = new Uint8Array(p.orders.reduce((m, o) => Math.max(m, o + 1), 0));
  let errors = 0;
  let sent = 0;
  let completed = 0;
  let cursor = 0;
  let exhausted = false;

  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  let windowEnd = windowStart + spec.durationMs;
  let windowStarted = false;
  let windowEnded = false;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = 0;

  const inWindow = (t: number): boolean => t >= windowStart && t <= windowEnd && !windowEnded;
  const count = (index: number, status: string): void => {
    const kind = p.kinds[index] ?? 'paid';
    const byStatus = (statusByKind[kind] ??= {});
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  };
  const startWindow = (): void => {
    if (windowStarted) return;
    windowStarted = true;
    cpuAtStart = process.cpuUsage();
    process.send?.({ ev: 'window', phase: 'start' } satisfies LoadgenEvent);
  };
  const endWindow = (): void => {
    if (windowEnded) return;
    startWindow();
    windowEnd = Math.min(windowEnd, performance.now());
    windowEnded = true;
    const cpu = process.cpuUsage(cpuAtStart);
    cpuInWindow = (cpu.user + cpu.system) / 1e6;
    process.send?.({ ev: 'window', phase: 'end' } satisfies LoadgenEvent);
  };

  const countNonSuccess = (index: number, status: number, body: ReplyBody): void => {
    const kind = p.kinds[index] ?? 'paid';
    let message = replySentence(body.buf.toString('utf8', body.from));
    let key = `${kind}\u0000${status}\u0000${message}`;
    if (!nonSuccess.has(key) && nonSuccess.size >= MAX_MESSAGES) {
      message = OTHER_MESSAGES;
      key = `${kind}\u0000${status}\u0000${message}`;
    }
    const seen = nonSuccess.get(key);
    nonSuccess.set(key, { kind, status, message, count: (seen?.count ?? 0) + 1 });
  };

  let wake: (() => void) | undefined;
  const onReply = (index: number, status: number, dueAt: number, body: ReplyBody): void => {
    const now = performance.now();
    if (status === 200) {
      const o = p.orders[index] ?? -1;
      if (o >= 0) acked[o] = 1;
    }
    if (inWindow(now)) {
      completed++;
      hist.recordMs(now - dueAt);
      count(index, String(status));
      if (status < 200 || status > 299) countNonSuccess(index, status, body);
    }
    wake?.();
  };
  const onFailure = (index: number): void => {
    if (inWindow(performance.now())) {
      errors++;
      count(index, 'error');
    }
    wake?.();
  };

  const conns = Array.from({ length: spec.connections }, () => new Connection(p.port, onReply, onFailure));
  const startTimer = setTimeout(startWindow, spec.warmupMs);
  const endTimer = setTimeout(endWindow, spec.warmupMs + spec.durationMs);

  const sendOn = (c: Connection, index: number, dueAt: number): void => {
    sent++;
    const req = p.requests[index];
    if (!req) return;
    c.send(index, req, dueAt).catch(() => onFailure(index));
  };

  let unsent = 0;
  if (spec.mode === 'closed') {
    await new Promise<void>((resolve) => {
      let done = false;
      const pump = (): void => {
        if (done) return;
        for (const c of conns) {
          if (c.busy || windowEnded) continue;
          if (cursor >= p.requests.length) {
            if (spec.cycle) cursor = 0;
            else {
              exhausted = true;
              continue;
            }
          }
          sendOn(c, cursor++, performance.now());
        }
        if (exhausted && !windowEnded && conns.every((c) => !c.busy)) endWindow();
        if (windowEnded && conns.every((c) => !c.busy)) {
          done = true;
          clearInterval(poll);
          resolve();
        }
      };
      // The window-end timer fires while every connection is busy: look again now and then.
      const poll = setInterval(pump, 20);
      wake = pump;
      pump();
    });
  } else {
    const rate = spec.rate ?? 0;
    if (!(rate > 0)) throw new Error('open loop needs a rate');
    const interval = 1000 / rate;
    const pending: Array<{ index: number; dueAt: number }> = [];
    let head = 0;
    let nextDue = t0;
    await new Promise<void>((resolve) => {
      const assign = (): void => {
        for (const c of conns) {
          if (head >= pending.length) break;
          if (c.busy) continue;
          const job = pending[head++];
          if (job) sendOn(c, job.index, job.dueAt);
        }
        if (head > 4096) {
          pending.splice(0, head);
          head = 0;
        }
      };
      const tick = (): void => {
        const now = performance.now();
        while (!windowEnded && nextDue <= now) {
          if (cursor >= p.requests.length && spec.cycle) cursor = 0;
          if (cursor >= p.requests.length) {
            exhausted = true;
            endWindow();
            break;
          }
          pending.push({ index: cursor++, dueAt: nextDue });
          nextDue += interval;
        }
        if (windowEnded && head < pending.length) {
          unsent += pending.length - head;
          pending.length = 0;
          head = 0;
        }
        assign();
        if (windowEnded && conns.every((c) => !c.busy)) {
          resolve();
          return;
        }
        setTimeout(tick, 1);
      };
      wake = assign;
      tick();
    });
  }
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  endWindow();
  for (const c of conns) c.close();
  const windowS = Math.max(1e-9, (windowEnd - windowStart) / 1000);
  let ackedOrders = 0;
  for (const a of acked) ackedOrders += a;
  return {
    label: spec.label,
    mode: spec.mode,
    connections: spec.connections,
    offeredRate: spec.rate,
    windowS,
    completed,
    rps: completed / windowS,
    histogram: hist.toJSON(),
    statusByKind,
    errors,
    nonSuccessReplies: [...nonSuccess.values()].sort((a, b) => b.count - a.count),
    sent,
    unsent,
    exhausted,
    ackedOrders,
    loadgenCpuS: cpuInWindow,
  };
}

function reply(e: LoadgenEvent): void {
  process.send?.(e);
}

process.on('message', (msg: LoadgenRequest) => {
  void (async () => {
    try {
      switch (msg.op) {
        case 'prepare': {
          const started = performance.now();
          prepared = undefined;
          prepared = prepare(msg.target, msg.workload);
          reply({ ev: 'prepared', count: prepared.requests.length, ms: performance.now() - started });
          break;
        }
        case 'run':
          reply({ ev: 'result', result: await run(msg.run) });
          break;
        case 'exit':
          process.exit(0);
      }
    } catch (e) {
      reply({ ev: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  })();
});
// The orchestrator going away (even by SIGKILL) closes the IPC channel: never outlive it.
process.on('disconnect', () => process.exit(0));
