/**
 * When WeChat Pay delivers a payment notification again after a reply that did not acknowledge
 * it. The first delivery is immediate; `delaysMs[i]` is the pause before retry i + 1, so a
 * schedule of k delays allows k + 1 attempts in all.
 */
export interface RetrySchedule {
  readonly name: string;
  readonly delaysMs: readonly number[];
}

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

/** WeChat Pay v2 today: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m in all. */
export const WECHAT_SCHEDULE: RetrySchedule = Object.freeze({
  name: 'wechat',
  delaysMs: Object.freeze([
    15 * S,
    15 * S,
    30 * S,
    3 * M,
    10 * M,
    20 * M,
    30 * M,
    30 * M,
    30 * M,
    60 * M,
    3 * H,
    3 * H,
    3 * H,
    6 * H,
    6 * H,
  ]),
});

/** The older documented schedule: 15/15/30/180/1800/1800/1800/1800/3600 seconds. */
export const LEGACY_SCHEDULE: RetrySchedule = Object.freeze({
  name: 'legacy',
  delaysMs: Object.freeze([15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600].map((s) => s * S)),
});

const NAMED_SCHEDULES: Readonly<Record<string, RetrySchedule>> = Object.freeze({
  wechat: WECHAT_SCHEDULE,
  legacy: LEGACY_SCHEDULE,
});

/** Every pause added up: how long after the first delivery the last retry happens. */
export function totalDelayMs(schedule: RetrySchedule): number {
  return schedule.delaysMs.reduce((sum, d) => sum + d, 0);
}

/** Attempts in all: the first delivery and one per delay. */
export function maxAttempts(schedule: RetrySchedule): number {
  return schedule.delaysMs.length + 1;
}

/** When each attempt starts, from the first delivery, ignoring reply time: [0, 15000, 30000, ...]. */
export function attemptOffsetsMs(schedule: RetrySchedule): number[] {
  const offsets = [0];
  let at = 0;
  for (const d of schedule.delaysMs) {
    at += d;
    offsets.push(at);
  }
  return offsets;
}

/**
 * The pause before retry `retry` (1 for the first retry) with time compressed by `timeScale`
 * (0.001 turns 24h4m into 86.64 s); undefined once the schedule is used up.
 */
export function retryDelayMs(schedule: RetrySchedule, retry: number, timeScale = 1): number | undefined {
  const d = schedule.delaysMs[retry - 1];
  return d === undefined ? undefined : scaleMs(d, timeScale);
}

export function scaleMs(ms: number, timeScale: number): number {
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new RangeError(`time scale must be a positive number, not ${timeScale}`);
  return Math.round(ms * timeScale);
}

/**
 * The latest moment, after the first delivery, by which a notification is either acknowledged or
 * given up: every scaled pause plus every attempt taking its whole reply timeout.
 */
export function deliveryDeadlineMs(
  schedule: RetrySchedule,
  timeScale: number,
  replyTimeoutMs: number,
  attempts = maxAttempts(schedule),
): number {
  const used = schedule.delaysMs.slice(0, Math.max(0, attempts - 1));
  return used.reduce((sum, d) => sum + scaleMs(d, timeScale), 0) + attempts * replyTimeoutMs;
}

/** "15s", "3m", "6h", "24h4m", "1500ms", or a bare number of seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * S);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const n = Number(m[1]);
    total += n * ({ ms: 1, s: S, m: M, h: H } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed = re.lastIndex;
  }
  if (t === '' || consumed !== t.length)
    throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 15s, 3m, 6h, 24h4m)`);
  return Math.round(total);
}

/** 86640000 => "24h4m"; 15000 => "15s"; 1500 => "1.5s"; 0 => "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms % S !== 0 || ms < S) return `${+(ms / S).toFixed(3)}s`;
  let rest = ms / S;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

/**
 * A schedule by name ("wechat", "legacy") or as a comma-separated list of pauses
 * ("15s,15s,30s"); "none" means a single attempt.
 */
export function parseSchedule(text: string): RetrySchedule {
  const named = NAMED_SCHEDULES[text];
  if (named) return named;
  if (text === 'none') return { name: 'none', delaysMs: [] };
  const delaysMs = text.split(',').map((part) => parseDuration(part));
  return { name: `custom(${text})`, delaysMs };
}

export function describeSchedule(schedule: RetrySchedule, timeScale = 1): string {
  const scaled =
    timeScale === 1
      ? ''
      : `, x${timeScale} => ${formatDuration(schedule.delaysMs.reduce((s, d) => s + scaleMs(d, timeScale), 0))}`;
  return (
    `${schedule.name}: ${schedule.delaysMs.map(formatDuration).join('/') || '(no retries)'} ` +
    `(${maxAttempts(schedule)} attempts over ${formatDuration(totalDelayMs(schedule))}${scaled})`
  );
}
