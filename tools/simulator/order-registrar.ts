import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { PaymentCallbackClient } from '../../src/gen/payment/callback/v1/payment_callback';
import type { OrderToCreate } from './notification-mix';

/** Registers orders with the core over gRPC (CreateOrder), as the merchant's order service does. */
export interface OrderRegistrar {
  create(order: OrderToCreate): Promise<void>;
  close(): void;
}

export interface RegistrarOptions {
  /** Bearer token of a caller with the orders scope, when the core has authentication on. */
  readonly token?: string;
  readonly deadlineMs?: number;
}

export function grpcOrderRegistrar(coreAddress: string, options: RegistrarOptions = {}): OrderRegistrar {
  const client = new PaymentCallbackClient(coreAddress, credentials.createInsecure());
  const deadlineMs = options.deadlineMs ?? 10_000;
  const metadata = (): Metadata => {
    const m = new Metadata();
    if (options.token) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  return {
    create: (order) =>
      new Promise<void>((resolve, reject) => {
        client.createOrder(
          {
            mchId: order.mchId,
            appid: order.appid,
            outTradeNo: order.outTradeNo,
            totalFee: order.totalFee,
            feeType: order.feeType,
          },
          metadata(),
          { deadline: Date.now() + deadlineMs },
          (err: ServiceError | null) =>
            err ? reject(new Error(`CreateOrder ${order.outTradeNo}: ${err.details || err.message}`)) : resolve(),
        );
      }),
    close: () => client.close(),
  };
}

/** Creates every order with at most `concurrency` calls in flight; fails on the first error. */
export async function createOrders(
  registrar: OrderRegistrar,
  orders: readonly OrderToCreate[],
  concurrency = 32,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < orders.length) {
      const order = orders[next++];
      if (order) await registrar.create(order);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, orders.length)) }, worker));
}
