import type { SignType } from './sign';
import type { V3PlatformKeys } from './v3/platform-keys';

/** A merchant this deployment receives notifications for. */
export interface Merchant {
  /** WeChat's merchant number, e.g. "10000100". */
  readonly mchId: string;
  /** The app ids whose payments this merchant receives (official account, mini program, app...). */
  readonly appids: readonly string[];
  /** The API v2 key (32 characters) set in the merchant platform. Never logged. */
  readonly apiKey: string;
  /** Signature algorithms accepted for this merchant; WeChat's default MD5 unless restricted. */
  readonly signTypes: readonly SignType[];
  /**
   * The v2 key being rotated away, accepted until `validUntil` (inclusive) and never after: set
   * the new key in the merchant platform, deploy it with the old one here, and both verify while
   * WeChat's in-flight retries still carry the old signature.
   */
  readonly previousApiKey?: { readonly key: string; readonly validUntil: Date };
  /** The APIv3 key (32 bytes) that decrypts v3 resources. Present exactly when `v3Keys` is. */
  readonly apiV3Key?: string;
  /** Platform certificates and WeChat Pay public keys that sign this merchant's v3 notifications. */
  readonly v3Keys?: V3PlatformKeys;
  /**
   * Service-provider mode: the sub-merchants this merchant (the provider) receives notifications
   * for. A notification naming one in `sub_mch_id` is signed with the provider's key and pays or
   * refunds an order registered under the sub-merchant's mch_id.
   */
  readonly subMchIds?: readonly string[];
  /**
   * Confirm every v2 refund SUCCESS with a signed refundquery before crediting it
   * (`confirm_refunds_with_query`; absent means false). A v2 refund notification is not signed:
   * its req_info is AES-256-ECB without a MAC, so only WeChat's signed reply proves the facts.
   */
  readonly confirmRefundsWithQuery?: boolean;
}

/**
 * Merchants by mch_id: how a notification finds the key that must have signed it. A Map built by
 * merchantDirectory(), or a registry whose content is swapped on reload.
 */
export interface MerchantDirectory {
  get(mchId: string): Merchant | undefined;
  values(): IterableIterator<Merchant>;
}

export function merchantDirectory(merchants: readonly Merchant[]): ReadonlyMap<string, Merchant> {
  return new Map(merchants.map((m) => [m.mchId, m]));
}

/**
 * The v2 keys that verify for `merchant` at `now`: the current key, and the previous one while
 * its overlap lasts. Without `now` only the current key: a caller that cannot say what time it is
 * gets no grace period.
 *
 * v2KeysAt({ apiKey: 'NEW...', previousApiKey: { key: 'OLD...', validUntil: 2026-01-01T00:00:00Z }, ... },
 *   new Date('2025-12-31T23:59:59Z')) => ['NEW...', 'OLD...']
 */
export function v2KeysAt(merchant: Merchant, now: Date | undefined): readonly string[] {
  const previous = merchant.previousApiKey;
  if (!previous || now === undefined || now.getTime() > previous.validUntil.getTime()) return [merchant.apiKey];
  return [merchant.apiKey, previous.key];
}

/**
 * The merchant configured for an order's mch_id: the merchant itself, or the service provider
 * that lists it in sub_mch_ids. Orders belong to the sub-merchant; its provider's app ids and keys
 * apply.
 *
 * orderMerchant(directory, '1900000109') => { mchId: '1230000109', subMchIds: ['1900000109'], ... }
 */
export function orderMerchant(merchants: MerchantDirectory, mchId: string): Merchant | undefined {
  const direct = merchants.get(mchId);
  if (direct) return direct;
  for (const m of merchants.values()) if (m.subMchIds?.includes(mchId)) return m;
  return undefined;
}
