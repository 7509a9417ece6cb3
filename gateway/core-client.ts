import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  PaymentCallbackClient,
  type HandleNotifyRequest,
  type HandleNotifyResponse,
  type HandleV3NotifyRequest,
} from '../src/gen/payment/callback/v1/payment_callback';

export interface CoreClientOptions {
  readonly tls?: { readonly caPem: string; readonly certPem?: string; readonly keyPem?: string } | undefined;
}

/** One long-lived channel to the core, balanced round-robin over every address the target resolves to. */
export function createCoreClient(target: string, options: CoreClientOptions = {}): PaymentCallbackClient {
  const tls = options.tls;
  const channelCredentials = tls
    ? credentials.createSsl(
        Buffer.from(tls.caPem),
        tls.keyPem ? Buffer.from(tls.keyPem) : null,
        tls.certPem ? Buffer.from(tls.certPem) : null,
      )
    : credentials.createInsecure();
  return new PaymentCallbackClient(target, channelCredentials, {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Channelz keeps per-call counters, timestamps and closures at three levels (channel,
    // subchannel, transport) for a debugging service nothing here serves or reads.
    'grpc.enable_channelz': 0,
    // No retry policy: a call the core has started is never sent again (WeChat's retry is the
    // retry). grpc-js's transparent retries stay on, though: they resend only calls that reached
    // no handler, refused by a connection the core is closing (its max_connection_age GOAWAY
    // every 5 minutes). With 'grpc.enable_retries': 0 each GOAWAY under load answered a few
    // notifications 503 (test/integration/gateway-core-connection-age.test.ts).
    // A restarted core is found again within a couple of seconds, not after minutes of backoff.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
  });
}

export type CoreCall =
  | { readonly ok: true; readonly response: HandleNotifyResponse }
  | { readonly ok: false; readonly code: status; readonly details: string };

export interface CallOptions {
  readonly requestId: string;
  readonly deadlineMs: number;
  readonly token: string | undefined;
}

type Callback = (err: ServiceError | null, response?: HandleNotifyResponse) => void;

export function handleNotify(
  client: PaymentCallbackClient,
  request: HandleNotifyRequest,
  call: CallOptions,
): Promise<CoreCall> {
  return callCore((metadata, options, cb) => client.handleNotify(request, metadata, options, cb), call);
}

export function handleRefundNotify(
  client: PaymentCallbackClient,
  request: HandleNotifyRequest,
  call: CallOptions,
): Promise<CoreCall> {
  return callCore((metadata, options, cb) => client.handleRefundNotify(request, metadata, options, cb), call);
}

export function handleV3Notify(
  client: PaymentCallbackClient,
  request: HandleV3NotifyRequest,
  call: CallOptions,
): Promise<CoreCall> {
  return callCore((metadata, options, cb) => client.handleV3Notify(request, metadata, options, cb), call);
}

function callCore(
  invoke: (metadata: Metadata, options: { deadline: number }, cb: Callback) => void,
  call: CallOptions,
): Promise<CoreCall> {
  const metadata = new Metadata();
  metadata.set('x-request-id', call.requestId);
  // Sent as metadata rather than call credentials, which grpc-js only allows over TLS.
  if (call.token) metadata.set('authorization', `Bearer ${call.token}`);
  // waitForReady: while the core is restarting, wait for it (bounded by the deadline) instead
  // of failing at once; WeChat still gets an answer before its 5 s are up.
  metadata.setOptions({ waitForReady: true });
  return new Promise((resolve) => {
    invoke(metadata, { deadline: Date.now() + call.deadlineMs }, (err, response) => {
      if (err || !response)
        resolve({ ok: false, code: err?.code ?? status.UNKNOWN, details: err?.details ?? 'no response' });
      else resolve({ ok: true, response });
    });
  });
}
