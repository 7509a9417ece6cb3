import { ApiError } from './api-error';

/** Lists page backwards by id; the token is the last id seen, opaque to callers. */
export function encodePageToken(lastId: number): string {
  return Buffer.from(`id:${lastId}`, 'utf8').toString('base64url');
}

export function decodePageToken(token: string): number | undefined {
  if (token === '') return undefined;
  const m = /^id:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m)
    throw new ApiError('INVALID_ARGUMENT', 'page_token is not one this service issued; pass next_page_token unchanged');
  return Number(m[1]);
}

/** page_size 0 means the default; larger than the maximum is clamped, negative is an error. */
export function pageSize(requested: number, fallback = 50, max = 500): number {
  if (!Number.isInteger(requested) || requested < 0)
    throw new ApiError('INVALID_ARGUMENT', 'page_size must be 0 or more');
  return requested === 0 ? fallback : Math.min(requested, max);
}
