// The gateway's channel to the core while the core ends its connections, over real gRPC: the
// core closes every HTTP/2 connection after grpc.max_connection_age_ms (5 minutes in
// src/core.ts) with a GOAWAY. Calls the gateway starts while that happens reach no handler
// (the stream is refused, or the closing connection cannot open one); grpc-js retries exactly
// those on the next connection unless retries are switched off altogether. Before the gateway
// left them on, each GOAWAY under load answered a few notifications 503 (UNAVAILABLE): the
// "503s at checkpoints" of the benchmark's long run, which came every 5 minutes with this age.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { createCoreClient, handleNotify } from '../../gateway/core-client';
import {
  NotifyOutcome,
  PaymentCallbackService,
  type HandleNotifyRequest,
  type HandleNotifyResponse,
  type PaymentCallbackClient,
} from '../../src/gen/payment/callback/v1/payment_callback';

/** Much shorter than the core's 5 minutes, so that a few seconds of calls cross many GOAWAYs. */
const CONNECTION_AGE_MS = 200;
const RUN_MS = 2_500;
const CONCURRENT_CALLERS = 24;

let server: Server;
let client: PaymentCallbackClient;
let handled = 0;

before(async () => {
  server = new Server({
    'grpc.max_connection_age_ms': CONNECTION_AGE_MS,
    // As in src/core.ts, calls in flight at the GOAWAY may finish.
    'grpc.max_connection_age_grace_ms': 30_000,
  });
  const handlers: Record<string, unknown> = {
    handleNotify: (
      _call: ServerUnaryCall<HandleNotifyRequest, HandleNotifyResponse>,
      callback: sendUnaryData<HandleNotifyResponse>,
    ) => {
      handled++;
      // A little work, so that calls are in flight whenever a GOAWAY goes out.
      setTimeout(
        () =>
          callback(null, { outcome: NotifyOutcome.NOTIFY_OUTCOME_PAID, acknowledge: true, code: 'OK', message: 'OK' }),
        2,
      );
    },
  };
  server.addService(PaymentCallbackService, handlers as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = createCoreClient(`127.0.0.1:${port}`);
});

after(async () => {
  client?.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

test('no call fails while the core ends its connections (max_connection_age)', async () => {
  const failures: Record<string, number> = {};
  let ok = 0;
  const until = Date.now() + RUN_MS;
  await Promise.all(
    Array.from({ length: CONCURRENT_CALLERS }, async (_, i) => {
      for (let n = 0; Date.now() < until; n++) {
        const call = await handleNotify(
          client,
          { fields: { out_trade_no: `age-${i}-${n}` }, rawBody: Buffer.from('<xml/>'), caller: undefined },
          { requestId: `age-${i}-${n}`, deadlineMs: 3_000, token: undefined },
        );
        if (call.ok) ok++;
        else {
          const key = `${call.code}: ${call.details}`;
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    }),
  );
  // Enough calls crossed enough connection ends for the test to mean something.
  assert.ok(ok > 200, `only ${ok} calls answered`);
  assert.ok(RUN_MS / CONNECTION_AGE_MS >= 10);
  assert.deepEqual(failures, {}, `${ok} answered, ${handled} handled`);
});
