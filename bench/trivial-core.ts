// A core that decides nothing: HandleNotify answers PAID at once. With the real gateway (and
// nginx) in front it measures the ceiling of HTTP -> gRPC alone.
//
//   TRIVIAL_CORE_LISTEN=127.0.0.1:0 node dist/bench/trivial-core.js
//   prints "trivial core listening on <port>"

import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  NotifyOutcome,
  PaymentCallbackService,
  type HandleNotifyRequest,
  type HandleNotifyResponse,
} from '../src/gen/payment/callback/v1/payment_callback';

const PAID: HandleNotifyResponse = Object.freeze({
  outcome: NotifyOutcome.NOTIFY_OUTCOME_PAID,
  acknowledge: true,
  code: 'OK',
  message: 'OK',
});

/** Every other method (unary or streaming) of whatever the proto declares: UNIMPLEMENTED. */
function unimplemented(call: { emit(event: 'error', e: unknown): unknown }, callback?: (e: unknown) => void): void {
  const error = { code: status.UNIMPLEMENTED, details: 'the trivial core only answers HandleNotify' };
  if (typeof callback === 'function') callback(error);
  else call.emit('error', error);
}

function main(): void {
  const listen = process.env['TRIVIAL_CORE_LISTEN'] ?? '127.0.0.1:0';
  const server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const handlers: Record<string, unknown> = {};
  for (const name of Object.keys(PaymentCallbackService)) handlers[name] = unimplemented;
  handlers['handleNotify'] = (
    _call: ServerUnaryCall<HandleNotifyRequest, HandleNotifyResponse>,
    callback: sendUnaryData<HandleNotifyResponse>,
  ) => {
    callback(null, PAID);
  };
  server.addService(PaymentCallbackService, handlers as UntypedServiceImplementation);
  server.bindAsync(listen, ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`trivial core: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`trivial core listening on ${port}\n`);
  });
  const stop = (): void => server.tryShutdown(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
