import { inScope, scopeFilter, type MerchantScope } from '../auth/merchant-scope';
import type { AnomalyRow } from '../store/anomalies-table';
import type { NotificationSummaryRow } from '../store/notifications-table';
import type { PaymentQueries } from '../store/payment-queries';
import { ApiError } from './api-error';
import { decodePageToken, encodePageToken, pageSize } from './page-token';

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

/** ListNotifications, ListAnomalies and ResolveAnomaly: validation and paging around the queries. */
export class QueryService {
  constructor(private readonly queries: PaymentQueries) {}

  async listNotifications(
    req: { mchId: string; outTradeNo: string; pageSize: number; pageToken: string },
    scope: MerchantScope,
  ): Promise<Page<NotificationSummaryRow>> {
    if (req.mchId === '' || req.outTradeNo === '')
      throw new ApiError('INVALID_ARGUMENT', 'mch_id and out_trade_no are required');
    requireMerchant(scope, req.mchId);
    const limit = pageSize(req.pageSize);
    const rows = await this.queries.listNotifications(req, limit + 1, decodePageToken(req.pageToken));
    return page(rows, limit);
  }

  /** An empty mch_id lists the anomalies of every merchant the caller may see. */
  async listAnomalies(
    req: { mchId: string; includeResolved: boolean; pageSize: number; pageToken: string },
    scope: MerchantScope,
  ): Promise<Page<AnomalyRow>> {
    const limit = pageSize(req.pageSize);
    if (req.mchId !== '') requireMerchant(scope, req.mchId);
    const mchIds = req.mchId !== '' ? [req.mchId] : scopeFilter(scope);
    const rows = await this.queries.listAnomalies(
      { mchIds, includeResolved: req.includeResolved },
      limit + 1,
      decodePageToken(req.pageToken),
    );
    return page(rows, limit);
  }

  async resolveAnomaly(
    req: { id: string; note: string },
    resolvedBy: string,
    scope: MerchantScope,
  ): Promise<AnomalyRow> {
    if (!/^[1-9]\d{0,14}$/.test(req.id))
      throw new ApiError('INVALID_ARGUMENT', 'id must be an anomaly id from ListAnomalies');
    const note = req.note.trim();
    if (note === '' || note.length > 2000)
      throw new ApiError('INVALID_ARGUMENT', 'note is required (at most 2000 characters): say what was done');
    const id = Number(req.id);
    // Another merchant's anomaly is "not found": its existence is not for this caller to learn.
    const before = await this.queries.findAnomaly(id);
    if (!before || !inScope(scope, before.mchId)) throw new ApiError('NOT_FOUND', `no anomaly ${req.id}`);
    const resolved = await this.queries.resolveAnomaly(id, { by: resolvedBy, note });
    const row = await this.queries.findAnomaly(id);
    if (!row) throw new ApiError('NOT_FOUND', `no anomaly ${req.id}`);
    if (!resolved) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `anomaly ${req.id} was already resolved by ${row.resolvedBy ?? '?'} at ${row.resolvedAt?.toISOString() ?? '?'}`,
      );
    }
    return row;
  }
}

/** Refuses a merchant outside the caller's mch_ids. */
export function requireMerchant(scope: MerchantScope, mchId: string): void {
  if (!inScope(scope, mchId)) {
    throw new ApiError(
      'PERMISSION_DENIED',
      `this caller may not act on mch_id ${mchId.slice(0, 32)}: it is not in the caller's mch_ids`,
    );
  }
}

/** Fetching one row more than the page tells whether another page exists. */
function page<T extends { id: number }>(rows: readonly T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextPageToken: rows.length > limit && last ? encodePageToken(last.id) : '' };
}
