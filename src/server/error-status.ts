import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { LockError } from '../lock/order-lock';
import type { Logger } from '../logger';
import { ApiError, type ApiErrorCode } from '../service/api-error';
import { StoreError } from '../store/store-error';

/**
 * The one place where errors become gRPC statuses. Known errors keep their message (it says what
 * to do); anything else is a bug: INTERNAL with a generic message, the cause only in our log.
 */
export function toServiceError(e: unknown, log: Logger, requestId: string): Partial<ServiceError> {
  if (e instanceof ApiError) return statusOf(apiStatus(e.code), e.message);
  if (e instanceof StoreError) {
    switch (e.code) {
      case 'STORE_CANCELLED':
        return statusOf(status.CANCELLED, e.message);
      case 'STORE_UNAVAILABLE':
        log.error({ err: e }, 'store error');
        return statusOf(status.UNAVAILABLE, 'the database is unavailable; retry with backoff');
      case 'STORE_CONFLICT':
        log.error({ err: e }, 'store error');
        return statusOf(status.ABORTED, 'a concurrent request changed the same record; retry');
    }
  }
  if (e instanceof LockError) return statusOf(status.UNAVAILABLE, `${e.message}; retry with backoff`);
  log.error({ err: e }, 'unexpected error');
  return statusOf(status.INTERNAL, `internal error; the core's log has the details under request id ${requestId}`);
}

function apiStatus(code: ApiErrorCode): status {
  switch (code) {
    case 'INVALID_ARGUMENT':
      return status.INVALID_ARGUMENT; // fix the request
    case 'NOT_FOUND':
      return status.NOT_FOUND; // nothing under that key
    case 'ALREADY_EXISTS':
      return status.ALREADY_EXISTS; // same key, different values
    case 'FAILED_PRECONDITION':
      return status.FAILED_PRECONDITION; // configure the service first
    case 'PERMISSION_DENIED':
      return status.PERMISSION_DENIED; // another merchant's data
    case 'RESOURCE_EXHAUSTED':
      return status.RESOURCE_EXHAUSTED; // release some, or raise the limit
  }
}

function statusOf(code: status, details: string): Partial<ServiceError> {
  return { code, details, metadata: new Metadata() };
}
