/**
 * What a caller may do. The gateway gets `notify` only; internal services get the rest as they
 * need it. Each scope names the RPCs of payment.callback.v1.PaymentCallback it opens.
 */
export const SCOPES = Object.freeze({
  notify: ['HandleNotify', 'HandleRefundNotify', 'HandleV3Notify'],
  orders: ['CreateOrder', 'GetOrder'],
  events: ['WatchPaymentEvents'],
  queries: ['ListNotifications', 'ListAnomalies'],
  anomalies: ['ResolveAnomaly'],
} as const);

export type Scope = keyof typeof SCOPES;

/** A service allowed to call the core, identified by its bearer token. */
export interface Caller {
  /** For logs and audit (e.g. who resolved an anomaly): "gateway", "order-service". */
  readonly name: string;
  /** Never logged. */
  readonly token: string;
  readonly scopes: readonly Scope[];
  /**
   * The merchants this caller may see and change; absent means all merchants. Each is a
   * configured mch_id, or a sub_mch_id of a configured service provider (CALLERS_FILE "mch_ids",
   * e.g. ["1230000109"]).
   */
  readonly mchIds?: readonly string[];
}
