/**
 * The most characters of one request-supplied value (path and query, client address, a parse
 * error that may quote the body, the core's error details) the gateway writes to its log. Such
 * values are chosen by whoever posts to the notify URL; cut, a line stays readable and one
 * request cannot write kilobytes into the log. A genuine value is far shorter: an IPv6 address
 * is at most 45 characters, a request id 128, a notify path a few dozen.
 */
export const MAX_LOGGED_VALUE_CHARS = 128;

/**
 * `value` as the log may carry it: unchanged when short enough, else its first 127 characters
 * and "…", so a cut is visible and the result is at most MAX_LOGGED_VALUE_CHARS long.
 *
 * logValue('/wxpay/notify') => '/wxpay/notify'
 * logValue('a'.repeat(500)) => 'aaa…a…' (127 × 'a', then '…')
 */
export function logValue(value: string): string {
  return value.length <= MAX_LOGGED_VALUE_CHARS ? value : `${value.slice(0, MAX_LOGGED_VALUE_CHARS - 1)}…`;
}
