import { randomUUID } from 'node:crypto';
import type { Metadata, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import {
  NotifyOutcome as ProtoOutcome,
  OrderStatus as ProtoOrderStatus,
  type CreateOrderRequest,
  type CreateOrderResponse,
  type GetOrderRequest,
  type GetOrderResponse,
  type HandleNotifyRequest,
  type HandleNotifyResponse,
  type Order,
  type PaymentCallbackServer,
} from '../gen/payment/callback/v1/payment_callback';
import type { Logger } from '../logger';
import type { OrderRecord } from '../notify/order';
import { acknowledges, type NotifyOutcome } from '../notify/outcome';
import type { NotifyService } from '../service/notify-service';
import type { OrderService } from '../service/order-service';
import type { Clock } from '../store/payment-store';
import { toServiceError } from './error-status';

export interface HandlerDeps {
  readonly notify: NotifyService;
  readonly orders: OrderService;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The PaymentCallback service: protobuf in, service call, protobuf out. No decisions here. */
export function paymentCallbackHandlers(deps: HandlerDeps): PaymentCallbackServer {
  return {
    handleNotify: unary(deps.log, 'HandleNotify', async (req: HandleNotifyRequest, ctx): Promise<HandleNotifyResponse> => {
      const r = await deps.notify.handle({
        fields: req.fields,
        rawBody: req.rawBody.toString('utf8'),
        clientIp: req.caller?.clientIp ?? '',
        requestId: ctx.requestId,
        receivedAt: deps.clock(),
      }, ctx.log);
      return { outcome: toProtoOutcome(r.outcome), acknowledge: acknowledges(r.outcome), code: r.code, message: r.message };
    }),
    createOrder: unary(deps.log, 'CreateOrder', async (req: CreateOrderRequest): Promise<CreateOrderResponse> => {
      const { order, created } = await deps.orders.create({
        mchId: req.mchId, appid: req.appid, outTradeNo: req.outTradeNo, totalFee: req.totalFee, feeType: req.feeType,
      });
      return { order: toProtoOrder(order), created };
    }),
    getOrder: unary(deps.log, 'GetOrder', async (req: GetOrderRequest): Promise<GetOrderResponse> => {
      return { order: toProtoOrder(await deps.orders.get(req.mchId, req.outTradeNo)) };
    }),
  };
}

interface CallContext {
  readonly requestId: string;
  readonly log: Logger;
}

/**
 * Wraps a handler with what every call needs: the request id from `x-request-id` metadata (or a
 * new one), a child logger carrying it, one access-log line, and the one error mapping.
 */
function unary<Req, Res>(
  log: Logger,
  method: string,
  handler: (req: Req, ctx: CallContext) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const requestId = requestIdOf(call.metadata);
    const callLog = log.child({ request_id: requestId, method });
    const started = process.hrtime.bigint();
    handler(call.request, { requestId, log: callLog }).then(
      (res) => {
        callLog.debug({ ms: elapsedMs(started) }, 'call done');
        callback(null, res);
      },
      (e: unknown) => {
        const err = toServiceError(e, callLog, requestId);
        callLog.info({ ms: elapsedMs(started), grpc_code: err.code }, `call failed: ${err.details ?? ''}`);
        callback(err);
      },
    );
  };
}

function requestIdOf(metadata: Metadata): string {
  const v = metadata.get('x-request-id')[0];
  const id = typeof v === 'string' ? v.trim() : '';
  return /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : randomUUID();
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function toProtoOutcome(o: NotifyOutcome): ProtoOutcome {
  switch (o) {
    case 'PAID': return ProtoOutcome.NOTIFY_OUTCOME_PAID;
    case 'DUPLICATE': return ProtoOutcome.NOTIFY_OUTCOME_DUPLICATE;
    case 'CONFLICTING_PAYMENT': return ProtoOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT;
    case 'PAYMENT_FAILED': return ProtoOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED;
    case 'REJECTED': return ProtoOutcome.NOTIFY_OUTCOME_REJECTED;
    case 'ORDER_MISMATCH': return ProtoOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH;
    case 'ORDER_NOT_FOUND': return ProtoOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND;
    case 'RETRY_LATER': return ProtoOutcome.NOTIFY_OUTCOME_RETRY_LATER;
    case 'MALFORMED': return ProtoOutcome.NOTIFY_OUTCOME_MALFORMED;
  }
}

function toProtoOrder(o: OrderRecord): Order {
  return {
    mchId: o.mchId,
    appid: o.appid,
    outTradeNo: o.outTradeNo,
    totalFee: o.totalFee,
    feeType: o.feeType,
    status: o.status === 'PAID' ? ProtoOrderStatus.ORDER_STATUS_PAID : ProtoOrderStatus.ORDER_STATUS_NOTPAY,
    transactionId: o.transactionId ?? '',
    paidAt: o.paidAt ?? undefined,
    createdAt: o.createdAt,
  };
}
