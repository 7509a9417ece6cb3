/** WeChat's reply rule, as the sender applies it to what a notify URL answered. */
export interface ReplyVerdict {
  /** True only for HTTP 2xx with return_code SUCCESS, received within the reply timeout. */
  readonly acknowledged: boolean;
  /** Why not, for the log: "HTTP 503", "return_code FAIL", "no return_code", "late (5210 ms)". */
  readonly reason: string;
  readonly returnCode: string | undefined;
  readonly returnMsg: string | undefined;
}

/** WeChat waits this long for a reply before it counts the delivery as failed. */
export const REPLY_TIMEOUT_MS = 5_000;

/**
 * Whether a reply acknowledges the notification. Anything else (another status, FAIL, a body
 * that is not the reply XML, an answer after the timeout) makes WeChat retry.
 */
export function checkReply(
  status: number,
  body: string,
  latencyMs: number,
  timeoutMs = REPLY_TIMEOUT_MS,
): ReplyVerdict {
  const returnCode = xmlField(body, 'return_code');
  const returnMsg = xmlField(body, 'return_msg');
  const verdict = (acknowledged: boolean, reason: string): ReplyVerdict => ({
    acknowledged,
    reason,
    returnCode,
    returnMsg,
  });
  if (latencyMs > timeoutMs) return verdict(false, `late (${Math.round(latencyMs)} ms > ${timeoutMs} ms)`);
  if (status < 200 || status > 299) return verdict(false, `HTTP ${status}`);
  if (returnCode === undefined) return verdict(false, 'no return_code in the reply');
  if (returnCode !== 'SUCCESS') return verdict(false, `return_code ${returnCode}`);
  return verdict(true, 'SUCCESS');
}

/**
 * The text of `<name>` directly in the reply: CDATA or plain text, surrounding whitespace
 * ignored. undefined when absent or when the element occurs more than once.
 */
export function xmlField(body: string, name: string): string | undefined {
  const re = new RegExp(`<${name}>\\s*(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))\\s*</${name}>`, 'g');
  const matches = [...body.slice(0, 64 * 1024).matchAll(re)];
  if (matches.length !== 1) return undefined;
  const m = matches[0];
  const value = m?.[1] ?? m?.[2];
  return value === undefined ? undefined : value.trim();
}
