import { parseTimeEnd } from '../payment-notice';

const SUCCESS_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * A v2 refund's success_time: 'yyyy-MM-dd HH:mm:ss' in China Standard Time (UTC+8, no daylight
 * saving). Impossible dates (Feb 30, 24:00) are refused, not rolled over.
 *
 * parseRefundSuccessTime('2017-11-25 15:36:17') => 2017-11-25T07:36:17.000Z
 */
export function parseRefundSuccessTime(value: string): Date | undefined {
  const m = SUCCESS_TIME.exec(value);
  // Same instant rules as time_end, which differs only in its separators.
  return m ? parseTimeEnd(m.slice(1).join('')) : undefined;
}
