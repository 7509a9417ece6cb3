import type { SignType } from './sign';

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
}

/** Merchants by mch_id: how a notification finds the key that must have signed it. */
export type MerchantDirectory = ReadonlyMap<string, Merchant>;

export function merchantDirectory(merchants: readonly Merchant[]): MerchantDirectory {
  return new Map(merchants.map((m) => [m.mchId, m]));
}
