import { CodedError } from '../coded-error';

/** Errors an RPC caller can act on; server/error-status.ts maps each to one gRPC status. */
export type ApiErrorCode =
  /** The request is wrong; fix it before retrying. */
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  /** The key exists with different values; CreateOrder is idempotent only for identical orders. */
  | 'ALREADY_EXISTS'
  /** The request is well-formed but the system is not set up for it (e.g. unknown merchant). */
  | 'FAILED_PRECONDITION'
  /** The caller may not act on this merchant (its caller entry's mch_ids). */
  | 'PERMISSION_DENIED'
  /** The caller holds as much of a bounded resource as it may (e.g. event streams). */
  | 'RESOURCE_EXHAUSTED';

export class ApiError extends CodedError<ApiErrorCode> {}
