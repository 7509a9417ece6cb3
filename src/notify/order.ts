/** What the core knows about an order the merchant registered. */
export type OrderStatus = 'NOTPAY' | 'PAID';

export interface OrderRecord {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  /** Expected amount in fen. */
  readonly totalFee: number;
  readonly feeType: string;
  readonly status: OrderStatus;
  /** Set exactly when status is PAID. */
  readonly transactionId: string | null;
  readonly paidAt: Date | null;
  readonly createdAt: Date;
}

/** An order as stored, with what has been refunded of its payment. */
export interface StoredOrder extends OrderRecord {
  /** The sum of the order's SUCCESS refunds in fen; never above totalFee (0 until refunded). */
  readonly refundedFee: number;
}
