/**
 * The fields of a wall-clock time as milliseconds since the epoch read as UTC, or undefined when
 * they name no real time: Date.UTC rolls 2014-02-31 over into March and 24:00 into the next day,
 * and WeChat's times are refused rather than guessed at. Months are 1-based, as written. Pure.
 *
 * wallClockMs(2014, 10, 30, 13, 35, 25) => 1414676125000
 * wallClockMs(2014, 2, 31, 0, 0, 0) => undefined
 */
export function wallClockMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  const same =
    check.getUTCFullYear() === y &&
    check.getUTCMonth() === mo - 1 &&
    check.getUTCDate() === d &&
    check.getUTCHours() === h &&
    check.getUTCMinutes() === mi &&
    check.getUTCSeconds() === s;
  return same ? ms : undefined;
}
