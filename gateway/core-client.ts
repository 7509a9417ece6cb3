import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  PaymentCallbackClient,
  type HandleNotifyRequest,
  type HandleNotifyResponse,
} from '../src/gen/payment/callback/v1/payment_callback';

/** One long-lived channel to the core, balanced round-robin over every address the target resolves to. */
export function createCoreClient(target: string): PaymentCallbackClient {
  return new PaymentCallbackClient(target, credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.enable_retries': 0,
    // A restarted core is found again within a couple of seconds, not after minutes of backoff.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
  });
}

export type CoreCall =
  | { readonly ok: true; readonly response: HandleNotifyResponse }
  | { readonly ok: false; readonly code: status; readonly details: string };

export function handleNotify(
  client: PaymentCallbackClient,
  request: HandleNotifyRequest,
  requestId: string,
  deadlineMs: number,
): Promise<CoreCall> {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  // waitForReady: while the core is restarting, wait for it (bounded by the deadline) instead
  // of failing at once; WeChat still gets an answer before its 5 s are up.
  metadata.setOptions({ waitForReady: true });
  return new Promise((resolve) => {
    client.handleNotify(request, metadata, { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, response?: HandleNotifyResponse) => {
      if (err || !response) resolve({ ok: false, code: err?.code ?? status.UNKNOWN, details: err?.details ?? 'no response' });
      else resolve({ ok: true, response });
    });
  });
}
