import { wallClockMs } from '../wall-clock';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An APIv3 time (create_time, success_time): RFC 3339 with an explicit offset, which WeChat sends
 * as +08:00. Impossible dates (Feb 30, 24:00, leap second 60) are refused, not rolled over.
 *
 * parseRfc3339('2018-06-08T10:34:56+08:00') => 2018-06-08T02:34:56.000Z
 */
export function parseRfc3339(value: string): Date | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const local = wallClockMs(y, mo, d, h, mi, s);
  if (local === undefined) return undefined;
  let offsetMinutes = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Milliseconds are what a Date holds; finer digits are dropped.
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  return new Date(local - offsetMinutes * 60_000 + ms);
}
