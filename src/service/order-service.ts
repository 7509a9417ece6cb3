import { orderMerchant, type MerchantDirectory } from '../notify/merchant';
import type { StoredOrder } from '../notify/order';
import { OUT_TRADE_NO } from '../notify/payment-notice';
import type { PaymentStore } from '../store/payment-store';
import { ApiError } from './api-error';
import type { ParkedReplay } from './notify-service';

export interface CreateOrderInput {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  readonly totalFee: number;
  readonly feeType: string;
}

/** Applies the payments stored for an order before it existed (NotifyService.applyParked). */
export type ApplyParkedPayments = (mchId: string, outTradeNo: string) => Promise<readonly ParkedReplay[]>;

export interface CreatedOrder {
  readonly order: StoredOrder;
  readonly created: boolean;
  /** The payments that had arrived before the order, and what became of each now. */
  readonly parked: readonly ParkedReplay[];
}

/** How the merchant's services register the amount they expect and read an order's state. */
export class OrderService {
  constructor(
    private readonly store: PaymentStore,
    private readonly merchants: MerchantDirectory,
    private readonly applyParked?: ApplyParkedPayments,
  ) {}

  async create(input: CreateOrderInput): Promise<CreatedOrder> {
    const feeType = input.feeType === '' ? 'CNY' : input.feeType;
    const problems: string[] = [];
    if (!OUT_TRADE_NO.test(input.outTradeNo))
      problems.push('out_trade_no must be 1 to 32 of letters, digits and _-|*@');
    if (!Number.isSafeInteger(input.totalFee) || input.totalFee < 1)
      problems.push('total_fee must be a whole number of fen, at least 1');
    if (!/^[A-Z]{3}$/.test(feeType)) problems.push('fee_type must be a three-letter currency code such as CNY');
    if (input.mchId === '' || input.appid === '') problems.push('mch_id and appid are required');
    if (problems.length > 0) throw new ApiError('INVALID_ARGUMENT', problems.join('; '));
    // A sub-merchant's orders are registered under its own mch_id, with its provider's app ids.
    const merchant = orderMerchant(this.merchants, input.mchId);
    if (!merchant || !merchant.appids.includes(input.appid)) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `mch_id ${input.mchId} with appid ${input.appid} is not configured in this service`,
      );
    }
    const outcome = await this.store.createOrder({ ...input, feeType });
    if (!outcome.ok) {
      const e = outcome.existing;
      throw new ApiError(
        'ALREADY_EXISTS',
        `order ${e.outTradeNo} already exists with appid ${e.appid}, total_fee ${e.totalFee} ${e.feeType}; ` +
          'an order cannot be changed: use a new out_trade_no',
      );
    }
    if (outcome.order.status === 'NOTPAY' && this.applyParked) {
      // WeChat may have notified before the order existed and, after a day of FAIL replies,
      // stopped trying: the customer paid and nothing would ever mark the order. Each stored,
      // authenticated payment for it is applied now, through the one money path. Also on an
      // identical repeat of CreateOrder, so a caller retrying after a failed first attempt
      // (lock busy, database gone) retries this too; the caller sees what became of each.
      const parked = await this.applyParked(outcome.order.mchId, outcome.order.outTradeNo);
      if (parked.length > 0) {
        const now = await this.store.getOrder(outcome.order.mchId, outcome.order.outTradeNo);
        return { order: now ?? outcome.order, created: outcome.created, parked };
      }
    }
    return { order: outcome.order, created: outcome.created, parked: [] };
  }

  async get(mchId: string, outTradeNo: string): Promise<StoredOrder> {
    if (mchId === '' || outTradeNo === '')
      throw new ApiError('INVALID_ARGUMENT', 'mch_id and out_trade_no are required');
    const order = await this.store.getOrder(mchId, outTradeNo);
    if (!order) throw new ApiError('NOT_FOUND', `no order ${outTradeNo} for mch_id ${mchId}`);
    return order;
  }
}
