// What grpcurl needs, proven the way grpcurl works: nothing of ours but a socket. The client asks
// the server for its descriptors over the standard reflection service, builds a dynamic client
// from them, and calls the health service and the API with plain JSON-shaped values.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { newTradeNo } from '../../harness/sign-notification';
import { startTestCore, type TestCore } from '../../harness/test-core';

// The reflection protocol's own published .proto (grpc/reflection/v1), shipped with the package.
const REFLECTION_PROTO = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

let backend: Backend;
let core: TestCore;
let reflectionClient: grpc.Client & Record<string, unknown>;

before(async () => {
  backend = await SQLITE_IN_PROCESS.start();
  core = await startTestCore({ databaseUrl: backend.databaseUrl });
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [REFLECTION_PROTO],
    keepCase: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  reflectionClient = new pkg.grpc.reflection.v1.ServerReflection(
    `127.0.0.1:${core.port}`,
    grpc.credentials.createInsecure(),
  );
});

after(async () => {
  reflectionClient?.close();
  await core?.stop();
  await backend?.dispose();
});

/** One request on the bidirectional reflection stream, as grpcurl sends it. */
function reflect(request: Record<string, unknown>): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const open = reflectionClient['ServerReflectionInfo'] as () => grpc.ClientDuplexStream<unknown, ReflectionResponse>;
    const call = open.call(reflectionClient);
    call.once('data', (res: ReflectionResponse) => {
      call.end();
      resolve(res);
    });
    call.once('error', reject);
    call.write(request);
  });
}

/** Everything a dynamic client needs for `symbol`, as one FileDescriptorSet. */
async function descriptorSetFor(symbol: string): Promise<Buffer> {
  const res = await reflect({ file_containing_symbol: symbol });
  assert.ok(res.file_descriptor_response, `no descriptors for ${symbol}: ${JSON.stringify(res.error_response)}`);
  // FileDescriptorSet is `repeated FileDescriptorProto file = 1`: each entry is tag 0x0a, a
  // varint length, then the bytes the server sent.
  const parts: Buffer[] = [];
  for (const file of res.file_descriptor_response.file_descriptor_proto) {
    parts.push(Buffer.from([0x0a]), varint(file.length), file);
  }
  return Buffer.concat(parts);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

function dynamicClient(descriptorSet: Buffer, service: string): grpc.Client & Record<string, unknown> {
  const def = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet, {
    keepCase: true,
    enums: String,
    longs: String,
    defaults: true,
  });
  const ctor = service
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], grpc.loadPackageDefinition(def));
  return new (ctor as grpc.ServiceClientConstructor)(`127.0.0.1:${core.port}`, grpc.credentials.createInsecure());
}

function unary(
  client: grpc.Client & Record<string, unknown>,
  method: string,
  request: unknown,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (
      req: unknown,
      cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
    ) => void;
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

test('grpcurl list: reflection names the API, health and reflection itself', async () => {
  const res = await reflect({ list_services: '' });
  const names = res.list_services_response?.service.map((s) => s.name) ?? [];
  for (const expected of ['payment.callback.v1.PaymentCallback', 'grpc.health.v1.Health']) {
    assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
  }
});

test('grpcurl describe: the descriptors carry every RPC of the contract', async () => {
  const def = protoLoader.loadFileDescriptorSetFromBuffer(
    await descriptorSetFor('payment.callback.v1.PaymentCallback'),
  );
  const service = def['payment.callback.v1.PaymentCallback'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(service).sort(), [
    'CreateOrder',
    'GetOrder',
    'HandleNotify',
    'HandleRefundNotify',
    'HandleV3Notify',
    'ListAnomalies',
    'ListNotifications',
    'ResolveAnomaly',
    'WatchPaymentEvents',
  ]);
  assert.ok(def['payment.callback.v1.HandleNotifyRequest'], 'message types are described too');
});

test('grpcurl health check: SERVING for the server and for the API', async () => {
  const health = dynamicClient(await descriptorSetFor('grpc.health.v1.Health'), 'grpc.health.v1.Health');
  try {
    for (const service of ['', 'payment.callback.v1.PaymentCallback']) {
      assert.equal((await unary(health, 'Check', { service }))['status'], 'SERVING', `service "${service}"`);
    }
    await assert.rejects(
      unary(health, 'Check', { service: 'no.such.Service' }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND,
    );
  } finally {
    health.close();
  }
});

test('grpcurl -d: CreateOrder and GetOrder through a client built only from reflection', async () => {
  const api = dynamicClient(
    await descriptorSetFor('payment.callback.v1.PaymentCallback'),
    'payment.callback.v1.PaymentCallback',
  );
  try {
    const outTradeNo = newTradeNo('G');
    const created = await unary(api, 'CreateOrder', {
      mch_id: '10000100',
      appid: 'wxd930ea5d5a258f4f',
      out_trade_no: outTradeNo,
      total_fee: '1999',
    });
    assert.equal(created['created'], true);
    const got = await unary(api, 'GetOrder', { mch_id: '10000100', out_trade_no: outTradeNo });
    const order = got['order'] as Record<string, unknown>;
    assert.deepEqual(
      [order['out_trade_no'], order['total_fee'], order['fee_type'], order['status']],
      [outTradeNo, '1999', 'CNY', 'ORDER_STATUS_NOTPAY'],
    );
  } finally {
    api.close();
  }
});
