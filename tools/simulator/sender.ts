import { TransportError, type Transport } from './http-transport';
import { checkReply, REPLY_TIMEOUT_MS } from './reply-check';
import { maxAttempts as scheduleAttempts, retryDelayMs, type RetrySchedule } from './retry-schedule';

/** One notification body as a sender sees it. */
export interface Deliverable {
  readonly id: string;
  readonly kind: string;
  readonly xml: string;
}

/** One POST and what came of it: a line of the delivery log. */
export interface AttemptRecord {
  readonly type: 'attempt';
  readonly id: string;
  readonly kind: string;
  /** Which of the "WeChat servers" sent it (0 for the first). */
  readonly sender: number;
  /** 1 for the first delivery. */
  readonly attempt: number;
  readonly at: string;
  readonly latencyMs: number;
  readonly status: number | null;
  readonly body: string | null;
  /** The transport error code when no reply came (ECONNREFUSED, ETIMEDOUT, ...). */
  readonly error: string | null;
  readonly acknowledged: boolean;
  readonly reason: string;
  /** The pause before the next attempt (time-scaled), null when this was the last. */
  readonly nextRetryMs: number | null;
}

/** How one sender's deliveries of one notification ended. */
export interface DeliveryResult {
  readonly type: 'delivery';
  readonly id: string;
  readonly kind: string;
  readonly sender: number;
  readonly delivered: boolean;
  readonly attempts: number;
  readonly firstAttemptAt: string;
  /** From the first attempt's start to the last reply (or failure). */
  readonly elapsedMs: number;
  readonly lastReason: string;
}

export interface SenderOptions {
  readonly url: string;
  readonly schedule: RetrySchedule;
  /** 1 is real time; 0.001 runs WeChat's 24h4m of retries in 86.64 s. */
  readonly timeScale: number;
  /** How long a reply may take to count (default 5 s, WeChat's); not scaled. */
  readonly replyTimeoutMs?: number;
  /** Stop after this many attempts even if the schedule allows more. */
  readonly maxAttempts?: number;
  readonly transport: Transport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly onAttempt?: (record: AttemptRecord) => void;
  /** Waits for a free slot before each POST (a concurrency limit); returns its release. Not timed. */
  readonly acquire?: () => Promise<() => void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Delivers one notification the way one WeChat server does: POST, and while the reply does not
 * acknowledge it, wait the next pause of the schedule and POST again, until acknowledged or the
 * schedule is used up (given up).
 */
export async function deliver(n: Deliverable, sender: number, options: SenderOptions): Promise<DeliveryResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const timeoutMs = options.replyTimeoutMs ?? REPLY_TIMEOUT_MS;
  const limit = Math.min(scheduleAttempts(options.schedule), options.maxAttempts ?? Infinity);
  const first = now();
  let lastReason = 'not attempted';
  for (let attempt = 1; attempt <= limit; attempt++) {
    const release = options.acquire ? await options.acquire() : undefined;
    const started = now();
    let status: number | null = null;
    let body: string | null = null;
    let error: string | null = null;
    let acknowledged = false;
    try {
      const reply = await options.transport(options.url, n.xml, timeoutMs);
      const latency = now() - started;
      const verdict = checkReply(reply.status, reply.body, latency, timeoutMs);
      status = reply.status;
      body = reply.body;
      acknowledged = verdict.acknowledged;
      lastReason = verdict.reason;
    } catch (e) {
      error = e instanceof TransportError ? e.code : 'ERROR';
      lastReason = e instanceof Error ? `${error}: ${e.message}` : String(e);
    }
    const latencyMs = now() - started;
    release?.();
    const next =
      acknowledged || attempt >= limit ? undefined : retryDelayMs(options.schedule, attempt, options.timeScale);
    options.onAttempt?.({
      type: 'attempt',
      id: n.id,
      kind: n.kind,
      sender,
      attempt,
      at: new Date(started).toISOString(),
      latencyMs,
      status,
      body,
      error,
      acknowledged,
      reason: lastReason,
      nextRetryMs: next ?? null,
    });
    if (acknowledged || next === undefined) {
      return {
        type: 'delivery',
        id: n.id,
        kind: n.kind,
        sender,
        delivered: acknowledged,
        attempts: attempt,
        firstAttemptAt: new Date(first).toISOString(),
        elapsedMs: now() - first,
        lastReason,
      };
    }
    await sleep(next);
  }
  return {
    type: 'delivery',
    id: n.id,
    kind: n.kind,
    sender,
    delivered: false,
    attempts: 0,
    firstAttemptAt: new Date(first).toISOString(),
    elapsedMs: 0,
    lastReason,
  };
}
