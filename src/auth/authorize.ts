import { createHash, timingSafeEqual } from 'node:crypto';
import { SCOPES, type Caller } from './scopes';

const PAYMENT_CALLBACK_SERVICE_PATH = '/payment.callback.v1.PaymentCallback/';

export type Authorization =
  | { readonly ok: true; readonly caller: string }
  | { readonly ok: false; readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; readonly message: string };

export interface AuthPolicy {
  /** Empty: authentication is off (development); every call is allowed as "anonymous". */
  readonly callers: readonly Caller[];
  /** Services reachable without a token, e.g. "grpc.health.v1.Health". */
  readonly publicServices: readonly string[];
}

/**
 * Decides whether a call to `path` ("/package.Service/Method") with this `authorization`
 * metadata value may proceed. Pure; tokens are compared in constant time.
 */
export function createAuthorizer(
  policy: AuthPolicy,
): (path: string, authorization: string | undefined) => Authorization {
  // Comparing digests makes every comparison the same length, whatever the token's length.
  const digests = policy.callers.map((c) => ({ caller: c, digest: sha256(c.token) }));
  return (path, authorization) => {
    const service = path.split('/')[1] ?? '';
    if (policy.publicServices.includes(service)) return { ok: true, caller: 'public' };
    if (policy.callers.length === 0) return { ok: true, caller: 'anonymous' };
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      return {
        ok: false,
        code: 'UNAUTHENTICATED',
        message: 'send "authorization: Bearer <token>" metadata with the token configured for your service',
      };
    }
    const presented = sha256(token);
    let match: Caller | undefined;
    // No early exit: the time taken does not say which caller, if any, matched.
    for (const d of digests) if (timingSafeEqual(d.digest, presented) && !match) match = d.caller;
    if (!match)
      return { ok: false, code: 'UNAUTHENTICATED', message: 'the bearer token is not one this service knows' };
    const method = path.startsWith(PAYMENT_CALLBACK_SERVICE_PATH)
      ? path.slice(PAYMENT_CALLBACK_SERVICE_PATH.length)
      : undefined;
    const allowed = method !== undefined && match.scopes.some((s) => (SCOPES[s] as readonly string[]).includes(method));
    // Any authenticated caller may use the operator services (health, reflection) when they are not public.
    if (allowed || method === undefined) return { ok: true, caller: match.name };
    return {
      ok: false,
      code: 'PERMISSION_DENIED',
      message: `caller ${match.name} may not call ${method}; its scopes are ${match.scopes.join(', ') || 'none'}`,
    };
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
