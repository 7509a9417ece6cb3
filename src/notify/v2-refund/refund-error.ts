/**
 * Why a v2 refund notification was not accepted. Stable codes a caller can act on; the message is
 * for people and never contains a key or decrypted content.
 */
export type RefundErrorCode =
  /** return_code is not SUCCESS: WeChat reports a communication failure, there is nothing to decrypt. */
  | 'RETURN_CODE_NOT_SUCCESS'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  /** The configured API key is unusable (empty): a configuration problem, not a bad notification. */
  | 'INVALID_API_KEY'
  /**
   * req_info is not base64, truncated, does not decrypt under this merchant's API key, or decrypts
   * to something other than WeChat's refund document (a re-cut of ECB blocks, see
   * req-info-document.ts).
   */
  | 'REFUND_UNDECRYPTABLE';

/**
 * refundError('REFUND_UNDECRYPTABLE', 'req_info is not base64')
 *   => { code: 'REFUND_UNDECRYPTABLE', message: 'req_info is not base64' }
 */
export interface RefundError {
  readonly code: RefundErrorCode;
  readonly message: string;
}

export function refundError(code: RefundErrorCode, message: string): RefundError {
  return Object.freeze({ code, message });
}
