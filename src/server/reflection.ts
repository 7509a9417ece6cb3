import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** proto/ at the project root; this file runs from dist/src/server/. */
export const PROTO_ROOT = join(__dirname, '..', '..', '..', 'proto');
const PAYMENT_CALLBACK_PROTO = 'payment/callback/v1/payment_callback.proto';

/**
 * Server reflection (v1 and v1alpha) over our contract and the health service, so `grpcurl list`
 * and `describe` work without local proto files. The descriptors come from the same .proto files
 * ts-proto generated our types from.
 */
export function createReflection(): ReflectionService {
  const definition = protoLoader.loadSync([PAYMENT_CALLBACK_PROTO, healthProtoPath], {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return new ReflectionService(definition);
}
