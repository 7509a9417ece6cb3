import type { MerchantDirectory } from '../notify/merchant';

/**
 * Which merchants' orders, notifications, anomalies and events a caller may see and change.
 * `all` for a caller without `mch_ids` (and with authentication off); otherwise the listed
 * merchants and, for a listed service provider, the sub-merchants it serves (its sub_mch_ids as
 * configured now: a provider's caller follows its sub-merchants through a reload).
 */
export type MerchantScope = { readonly all: true } | { readonly all: false; readonly mchIds: ReadonlySet<string> };

const ALL_MERCHANTS: MerchantScope = Object.freeze({ all: true });

/**
 * merchantScope({ mchIds: ['1230000109'] }, directory with 1230000109 serving ['1900000109'])
 *   => { all: false, mchIds: Set { '1230000109', '1900000109' } }
 */
export function merchantScope(
  caller: { readonly mchIds?: readonly string[] } | undefined,
  merchants: MerchantDirectory,
): MerchantScope {
  if (!caller?.mchIds) return ALL_MERCHANTS;
  const mchIds = new Set<string>();
  for (const id of caller.mchIds) {
    mchIds.add(id);
    for (const sub of merchants.get(id)?.subMchIds ?? []) mchIds.add(sub);
  }
  return { all: false, mchIds };
}

export function inScope(scope: MerchantScope, mchId: string): boolean {
  return scope.all || scope.mchIds.has(mchId);
}

/** The merchants a query without its own filter covers: undefined for all. */
export function scopeFilter(scope: MerchantScope): readonly string[] | undefined {
  return scope.all ? undefined : [...scope.mchIds].sort();
}
