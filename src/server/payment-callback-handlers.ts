import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import {
  NotifyOutcome as ProtoOutcome,
  OrderStatus as ProtoOrderStatus,
  PaymentEventType as ProtoEventType,
  type Anomaly,
  type CallerContext,
  type HandleNotifyResponse,
  type NotificationSummary,
  type Order,
  type PaymentCallbackServer,
  type PaymentEvent,
  type WatchPaymentEventsRequest,
} from '../gen/payment/callback/v1/payment_callback';
import type { Logger } from '../logger';
import type { CoreMetrics } from '../metrics';
import type { StoredOrder } from '../notify/order';
import { acknowledges, type NotifyOutcome, type NotifyResult } from '../notify/outcome';
import { streamEvents, type EventStreamOptions } from '../service/event-stream';
import type { NotifyService } from '../service/notify-service';
import type { OrderService } from '../service/order-service';
import type { QueryService } from '../service/query-service';
import type { AnomalyRow } from '../store/anomalies-table';
import type { NotificationSummaryRow } from '../store/notifications-table';
import type { EventSequencer } from '../store/event-sequencer';
import type { OutboxSignal } from '../store/outbox-signal';
import type { PaymentEventType, StoredPaymentEvent } from '../store/payment-events-table';
import type { PaymentQueries } from '../store/payment-queries';
import type { Clock } from '../store/payment-store';
import { toServiceError } from './error-status';
import { scopeFilter, type MerchantScope } from '../auth/merchant-scope';
import { ApiError } from '../service/api-error';
import { requireMerchant } from '../service/query-service';
import { CALLER_METADATA, REQUEST_ID_METADATA } from './interceptors';

export interface HandlerDeps {
  readonly notify: NotifyService;
  readonly orders: OrderService;
  readonly queries: QueryService;
  readonly events: {
    readonly queries: PaymentQueries;
    readonly outbox: OutboxSignal;
    readonly sequencer: EventSequencer;
    readonly options: EventStreamOptions;
  };
  readonly metrics: CoreMetrics;
  readonly clock: Clock;
  readonly log: Logger;
  /** Aborts when the server starts shutting down: open event streams end so the drain can. */
  readonly shutdown: AbortSignal;
  /** The merchants an authenticated caller (by name) may see and change (its mch_ids). */
  readonly scopeOf: (caller: string) => MerchantScope;
  /** EVENTS_MAX_STREAMS_PER_CALLER: concurrent WatchPaymentEvents streams per caller. */
  readonly maxStreamsPerCaller: number;
}

/** The PaymentCallback service: protobuf in, service call, protobuf out. No decisions here. */
export function paymentCallbackHandlers(deps: HandlerDeps): PaymentCallbackServer {
  const openStreams = new Map<string, number>();
  return {
    handleNotify: unary(deps.log, async (req, ctx) =>
      toProtoResponse(
        await deps.notify.handle({ fields: req.fields, ...arrival(req, ctx, deps.clock) }, ctx.log, ctx.signal),
      ),
    ),
    handleRefundNotify: unary(deps.log, async (req, ctx) =>
      toProtoResponse(
        await deps.notify.handleRefund({ fields: req.fields, ...arrival(req, ctx, deps.clock) }, ctx.log, ctx.signal),
      ),
    ),
    handleV3Notify: unary(deps.log, async (req, ctx) =>
      toProtoResponse(
        await deps.notify.handleV3(
          { headers: req.headers, body: req.rawBody },
          arrival(req, ctx, deps.clock),
          ctx.log,
          ctx.signal,
        ),
      ),
    ),
    createOrder: unary(deps.log, async (req, ctx) => {
      requireMerchant(deps.scopeOf(ctx.caller), req.mchId);
      const { order, created, parked } = await deps.orders.create({
        mchId: req.mchId,
        appid: req.appid,
        outTradeNo: req.outTradeNo,
        totalFee: req.totalFee,
        feeType: req.feeType,
      });
      return {
        order: toProtoOrder(order),
        created,
        parkedPayments: parked.map((p) => ({
          transactionId: p.transactionId,
          outcome: toProtoOutcome(p.result.outcome),
          code: p.result.code,
          message: p.result.message,
        })),
      };
    }),
    getOrder: unary(deps.log, async (req, ctx) => {
      requireMerchant(deps.scopeOf(ctx.caller), req.mchId);
      return { order: toProtoOrder(await deps.orders.get(req.mchId, req.outTradeNo)) };
    }),
    listNotifications: unary(deps.log, async (req, ctx) => {
      const page = await deps.queries.listNotifications(req, deps.scopeOf(ctx.caller));
      return { notifications: page.items.map(toProtoNotification), nextPageToken: page.nextPageToken };
    }),
    listAnomalies: unary(deps.log, async (req, ctx) => {
      const page = await deps.queries.listAnomalies(req, deps.scopeOf(ctx.caller));
      return { anomalies: page.items.map(toProtoAnomaly), nextPageToken: page.nextPageToken };
    }),
    resolveAnomaly: unary(deps.log, async (req, ctx) => ({
      anomaly: toProtoAnomaly(await deps.queries.resolveAnomaly(req, ctx.caller, deps.scopeOf(ctx.caller))),
    })),
    watchPaymentEvents: (call: ServerWritableStream<WatchPaymentEventsRequest, PaymentEvent>) => {
      const ctx = callContext(deps.log, call.metadata, call);
      const caller = ctx.caller;
      // A caller's streams each hold a database poll and a batch of events: bounded per caller,
      // so one misbehaving service cannot starve the others (the gateway opens none).
      const open = openStreams.get(caller) ?? 0;
      const mchIds = (): readonly string[] => streamMerchants(deps.scopeOf(caller), call.request.mchIds);
      try {
        if (open >= deps.maxStreamsPerCaller) {
          throw new ApiError(
            'RESOURCE_EXHAUSTED',
            `caller ${caller} already has ${open} open WatchPaymentEvents streams, the most ` +
              `EVENTS_MAX_STREAMS_PER_CALLER (${deps.maxStreamsPerCaller}) allows: close streams it no longer reads, or raise the limit`,
          );
        }
        mchIds();
      } catch (e) {
        call.emit('error', toServiceError(e, ctx.log, ctx.requestId));
        return;
      }
      openStreams.set(caller, open + 1);
      deps.metrics.streamConsumers.inc({ caller });
      const sink = {
        write: (event: StoredPaymentEvent) =>
          new Promise<void>((resolve, reject) => {
            if (call.cancelled) {
              reject(new Error('stream cancelled'));
              return;
            }
            deps.metrics.streamDelivered.inc({ caller });
            // Flow control: a consumer that does not read leaves write() false until it drains,
            // and nothing more is fetched for it meanwhile. A cancelled call never drains.
            if (call.write(toProtoEvent(event))) {
              resolve();
              return;
            }
            const settle = (): void => {
              call.off('drain', settle);
              call.off('cancelled', settle);
              call.off('close', settle);
              if (call.cancelled) reject(new Error('stream cancelled'));
              else resolve();
            };
            call.on('drain', settle);
            call.on('cancelled', settle);
            call.on('close', settle);
          }),
        progress: (cursor: number, latest: number) => deps.metrics.streamLagEvents.set({ caller }, latest - cursor),
      };
      const stop = AbortSignal.any([ctx.signal, deps.shutdown]);
      streamEvents(
        deps.events,
        { afterCursor: call.request.afterCursor, mchIds, fromNow: call.request.fromNow },
        sink,
        stop,
      )
        .then(
          () => {
            // A stream never ends on its own: it ended because this replica is stopping.
            if (deps.shutdown.aborted && !call.cancelled) {
              call.emit('error', {
                code: status.UNAVAILABLE,
                details: 'this replica is shutting down; reconnect with your last cursor',
                metadata: new Metadata(),
              });
            } else {
              call.end();
            }
          },
          (e: unknown) => {
            if (call.cancelled) return;
            // grpc-js ends a server stream with this status when 'error' is emitted on it.
            call.emit('error', toServiceError(e, ctx.log, ctx.requestId));
          },
        )
        .finally(() => {
          deps.metrics.streamConsumers.dec({ caller });
          const left = (openStreams.get(caller) ?? 1) - 1;
          if (left > 0) openStreams.set(caller, left);
          else openStreams.delete(caller);
        });
    },
  };
}

/**
 * The merchants a stream follows: those asked for, each of which the caller must be allowed; or,
 * when none is asked for, every merchant the caller may see (never all for a caller with mch_ids).
 */
function streamMerchants(scope: MerchantScope, asked: readonly string[]): readonly string[] {
  for (const mchId of asked) requireMerchant(scope, mchId);
  if (asked.length > 0) return asked;
  const mine = scopeFilter(scope);
  // An empty filter means every merchant to the event query: a caller bound to none gets none.
  if (mine !== undefined && mine.length === 0)
    throw new ApiError('PERMISSION_DENIED', 'this caller is bound to no merchant');
  return mine ?? [];
}

/** How a notification reached us, for the audit trail: the same for every kind. */
function arrival(
  req: { readonly rawBody: Buffer; readonly caller: CallerContext | undefined },
  ctx: CallContext,
  clock: Clock,
): { rawBody: string; clientIp: string; requestId: string; receivedAt: Date } {
  return {
    rawBody: req.rawBody.toString('utf8'),
    clientIp: req.caller?.clientIp ?? '',
    requestId: ctx.requestId,
    receivedAt: clock(),
  };
}

interface CallContext {
  readonly requestId: string;
  /** The authenticated caller's name ("anonymous" with authentication off). */
  readonly caller: string;
  readonly log: Logger;
  /** Aborts when the client cancels or its deadline passes: work should stop then. */
  readonly signal: AbortSignal;
}

function callContext(
  log: Logger,
  metadata: Metadata,
  call: { cancelled: boolean; once(event: 'cancelled', cb: () => void): unknown },
  answered: () => boolean = () => false,
): CallContext {
  const requestId = String(metadata.get(REQUEST_ID_METADATA)[0] ?? '');
  const caller = String(metadata.get(CALLER_METADATA)[0] ?? 'anonymous');
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  // grpc-js emits 'cancelled' when every call's stream closes, answered or not; aborting then
  // would only build an AbortError nobody reads, once per call.
  else
    call.once('cancelled', () => {
      if (!answered()) controller.abort();
    });
  return { requestId, caller, log: log.child({ request_id: requestId, caller }), signal: controller.signal };
}

/** A unary handler with the one error mapping; logging and metrics are the interceptors'. */
function unary<Req, Res>(
  log: Logger,
  handler: (req: Req, ctx: CallContext) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    let answered = false;
    const ctx = callContext(log, call.metadata, call, () => answered);
    handler(call.request, ctx).then(
      (res) => {
        answered = true;
        callback(null, res);
      },
      (e: unknown) => {
        answered = true;
        callback(toServiceError(e, ctx.log, ctx.requestId));
      },
    );
  };
}

function toProtoResponse(r: NotifyResult): HandleNotifyResponse {
  return { outcome: toProtoOutcome(r.outcome), acknowledge: acknowledges(r.outcome), code: r.code, message: r.message };
}

function toProtoOutcome(o: NotifyOutcome): ProtoOutcome {
  switch (o) {
    case 'PAID':
      return ProtoOutcome.NOTIFY_OUTCOME_PAID;
    case 'DUPLICATE':
      return ProtoOutcome.NOTIFY_OUTCOME_DUPLICATE;
    case 'CONFLICTING_PAYMENT':
      return ProtoOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT;
    case 'PAYMENT_FAILED':
      return ProtoOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED;
    case 'REJECTED':
      return ProtoOutcome.NOTIFY_OUTCOME_REJECTED;
    case 'ORDER_MISMATCH':
      return ProtoOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH;
    case 'ORDER_NOT_FOUND':
      return ProtoOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND;
    case 'RETRY_LATER':
      return ProtoOutcome.NOTIFY_OUTCOME_RETRY_LATER;
    case 'MALFORMED':
      return ProtoOutcome.NOTIFY_OUTCOME_MALFORMED;
    case 'REFUNDED':
      return ProtoOutcome.NOTIFY_OUTCOME_REFUNDED;
    case 'REFUND_RECORDED':
      return ProtoOutcome.NOTIFY_OUTCOME_REFUND_RECORDED;
  }
}

function toProtoOrder(o: StoredOrder): Order {
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
    refundedFee: o.refundedFee,
  };
}

function toProtoNotification(n: NotificationSummaryRow): NotificationSummary {
  const outcome = ProtoOutcome[`NOTIFY_OUTCOME_${n.outcome}` as keyof typeof ProtoOutcome];
  return {
    id: String(n.id),
    receivedAt: n.receivedAt,
    outcome: typeof outcome === 'number' ? outcome : ProtoOutcome.NOTIFY_OUTCOME_UNSPECIFIED,
    code: n.code,
    resultCode: n.resultCode,
    transactionId: n.transactionId ?? '',
    appid: n.appid,
    clientIp: n.clientIp,
    requestId: n.requestId,
    kind: n.kind,
    outRefundNo: n.outRefundNo ?? '',
  };
}

function toProtoAnomaly(a: AnomalyRow): Anomaly {
  return {
    id: String(a.id),
    kind: a.kind,
    mchId: a.mchId,
    outTradeNo: a.outTradeNo,
    transactionId: a.transactionId ?? '',
    detail: a.detail,
    createdAt: a.createdAt,
    resolved: a.resolvedAt !== null,
    resolvedAt: a.resolvedAt ?? undefined,
    resolvedBy: a.resolvedBy ?? '',
    resolutionNote: a.resolutionNote ?? '',
  };
}

function toProtoEvent(e: StoredPaymentEvent): PaymentEvent {
  const p = e.payload;
  const str = (k: string): string => (typeof p[k] === 'string' ? p[k] : '');
  const num = (k: string): number => (typeof p[k] === 'number' ? p[k] : 0);
  return {
    cursor: String(e.id),
    type: toProtoEventType(e.type),
    mchId: e.mchId,
    outTradeNo: e.outTradeNo,
    transactionId: e.transactionId ?? '',
    occurredAt: e.createdAt,
    totalFee: num('total_fee'),
    feeType: str('fee_type'),
    appid: str('appid'),
    paidAt: str('paid_at') ? new Date(str('paid_at')) : undefined,
    errCode: str('err_code'),
    anomalyKind: str('kind'),
    anomalyDetail: str('detail'),
    outRefundNo: str('out_refund_no'),
    refundId: str('refund_id'),
    refundFee: num('refund_fee'),
    refundStatus: str('refund_status'),
  };
}

function toProtoEventType(t: PaymentEventType): ProtoEventType {
  switch (t) {
    case 'ORDER_PAID':
      return ProtoEventType.PAYMENT_EVENT_TYPE_ORDER_PAID;
    case 'PAYMENT_FAILED':
      return ProtoEventType.PAYMENT_EVENT_TYPE_PAYMENT_FAILED;
    case 'ANOMALY_RAISED':
      return ProtoEventType.PAYMENT_EVENT_TYPE_ANOMALY_RAISED;
    case 'REFUND_SUCCEEDED':
      return ProtoEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED;
    case 'REFUND_FAILED':
      return ProtoEventType.PAYMENT_EVENT_TYPE_REFUND_FAILED;
    case 'REFUND_CLOSED':
      return ProtoEventType.PAYMENT_EVENT_TYPE_REFUND_CLOSED;
  }
}
