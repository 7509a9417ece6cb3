// Is memory flat over a long run? A least-squares line through (notifications, MB) samples.

export interface Trend {
  /** MB per 100,000 notifications over the samples given. */
  readonly slopeMbPer100k: number;
  /** What the line predicts the samples' span adds, in MB. */
  readonly growthOverSpanMb: number;
  readonly firstMb: number;
  readonly lastMb: number;
  readonly minMb: number;
  readonly maxMb: number;
  readonly samples: number;
}

/**
 * The trend of `points` (x: notifications handled so far, y: MB). Callers pass the samples after
 * warm-up: pools, JIT and caches fill during the first part of a run, and that rise is not a leak.
 *
 * linearTrend([{ x: 0, y: 100 }, { x: 100_000, y: 101 }]) => slopeMbPer100k 1, growthOverSpanMb 1
 */
export function linearTrend(points: ReadonlyArray<{ readonly x: number; readonly y: number }>): Trend {
  const n = points.length;
  if (n === 0) throw new Error('no samples');
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return {
    slopeMbPer100k: slope * 100_000,
    growthOverSpanMb: slope * (Math.max(...xs) - Math.min(...xs)),
    firstMb: points[0]?.y ?? 0,
    lastMb: points[n - 1]?.y ?? 0,
    minMb: Math.min(...ys),
    maxMb: Math.max(...ys),
    samples: n,
  };
}
