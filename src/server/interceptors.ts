import { randomUUID } from 'node:crypto';
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Authorization } from '../auth/authorize';
import type { Logger } from '../logger';
import type { CoreMetrics } from '../metrics';

/** Set by the auth interceptor for handlers; a value sent by a client is removed first. */
export const CALLER_METADATA = 'x-payment-callback-caller';
/** The request id every log line of a call carries; from the client or newly made. */
export const REQUEST_ID_METADATA = 'x-request-id';

/**
 * Authenticates every call before its handler runs: a bearer token in `authorization` metadata
 * names the caller, whose scopes must include the method. Denied calls never reach a handler.
 */
export function authInterceptor(
  authorize: (path: string, authorization: string | undefined) => Authorization,
): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            const header = metadata.get('authorization')[0];
            const verdict = authorize(method.path, typeof header === 'string' ? header : undefined);
            metadata.remove(CALLER_METADATA);
            if (!verdict.ok) {
              call.sendStatus({
                code: verdict.code === 'UNAUTHENTICATED' ? status.UNAUTHENTICATED : status.PERMISSION_DENIED,
                details: verdict.message,
                metadata: new Metadata(),
              });
              return;
            }
            metadata.set(CALLER_METADATA, verdict.caller);
            forward(metadata);
          },
        }),
    });
}

/**
 * One access-log line and the gRPC metrics for every call, including calls the auth
 * interceptor refused and calls to health and reflection.
 */
export function accessLogInterceptor(log: Logger, metrics: CoreMetrics): ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    let requestId = '';
    let caller = '';
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            const given = metadata.get(REQUEST_ID_METADATA)[0];
            requestId = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
            metadata.set(REQUEST_ID_METADATA, requestId);
            forward(metadata);
            const who = metadata.get(CALLER_METADATA)[0];
            caller = typeof who === 'string' ? who : '';
          },
        }),
      sendStatus: (s, next) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const code = status[s.code] ?? String(s.code);
        metrics.grpcHandled.inc({ method: method.path, code });
        metrics.grpcSeconds.observe({ method: method.path }, seconds);
        const line = {
          request_id: requestId,
          method: method.path,
          grpc_code: code,
          ms: seconds * 1000,
          caller,
          peer: call.getPeer(),
        };
        if (s.code === status.OK) log.debug(line, 'call');
        else log.info({ ...line, details: s.details }, 'call failed');
        next(s);
      },
    });
  };
}
