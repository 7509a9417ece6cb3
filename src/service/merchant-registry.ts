import { createHash } from 'node:crypto';
import { ConfigError } from '../env-reader';
import type { Logger } from '../logger';
import { merchantDirectory, type Merchant, type MerchantDirectory } from '../notify/merchant';

export type MerchantReload =
  | {
      readonly status: 'reloaded';
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly changed: readonly string[];
    }
  | { readonly status: 'unchanged' }
  | { readonly status: 'failed'; readonly problems: readonly string[] };

/**
 * The merchants in force, replaced all at once by a reload. Each lookup reads the set as it is at
 * that moment, so a notification sees the old set or the new one, never a mix; a merchant object
 * itself never changes.
 */
export class MerchantRegistry implements MerchantDirectory {
  private current: ReadonlyMap<string, Merchant>;
  private digests: ReadonlyMap<string, string>;

  constructor(merchants: readonly Merchant[]) {
    this.current = merchantDirectory(merchants);
    this.digests = digestsOf(merchants);
  }

  get(mchId: string): Merchant | undefined {
    return this.current.get(mchId);
  }

  values(): IterableIterator<Merchant> {
    return this.current.values();
  }

  /**
   * Reads the merchants again with `load` (which re-reads MERCHANTS_FILE and every key file) and
   * swaps them in. When `load` reports problems, the current merchants stay and every problem is
   * logged. Never logs a key.
   */
  reload(load: () => readonly Merchant[], log: Logger, trigger: string): MerchantReload {
    let next: readonly Merchant[];
    try {
      next = load();
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems : [e instanceof Error ? e.message : String(e)];
      for (const problem of problems) log.error({ trigger, problem }, `merchant reload problem: ${problem}`);
      log.error(
        { trigger, problems: problems.length, merchants: [...this.current.keys()] },
        'merchant reload failed: keeping the merchants in force; fix the problems above and reload again',
      );
      return { status: 'failed', problems };
    }
    const digests = digestsOf(next);
    const added = [...digests.keys()].filter((id) => !this.digests.has(id));
    const removed = [...this.digests.keys()].filter((id) => !digests.has(id));
    const changed = [...digests.keys()].filter(
      (id) => this.digests.has(id) && this.digests.get(id) !== digests.get(id),
    );
    if (added.length + removed.length + changed.length === 0) {
      log.info({ trigger, merchants: [...digests.keys()] }, 'merchant reload: nothing changed');
      return { status: 'unchanged' };
    }
    this.current = merchantDirectory(next);
    this.digests = digests;
    log.info({ trigger, merchants: [...digests.keys()], added, removed, changed }, 'merchants reloaded');
    return { status: 'reloaded', added, removed, changed };
  }
}

/**
 * One digest per merchant over everything that decides a notification, keys included. A
 * certificate counts with its validity period: a renewed certificate may keep its serial and key
 * but not its dates, and the dates decide whether it verifies.
 */
function digestsOf(merchants: readonly Merchant[]): ReadonlyMap<string, string> {
  return new Map(
    merchants.map((m) => {
      const v3Keys = [...(m.v3Keys?.byId.values() ?? [])].map((k) => [
        k.id,
        k.kind,
        k.key.export({ type: 'spki', format: 'der' }).toString('base64'),
        k.notBefore?.getTime() ?? null,
        k.notAfter?.getTime() ?? null,
      ]);
      const material = JSON.stringify([
        m.mchId,
        m.appids,
        m.apiKey,
        m.signTypes,
        m.previousApiKey?.key ?? null,
        m.previousApiKey?.validUntil.getTime() ?? null,
        m.apiV3Key ?? null,
        v3Keys,
        m.subMchIds ?? null,
        m.confirmRefundsWithQuery ?? false,
      ]);
      return [m.mchId, createHash('sha256').update(material, 'utf8').digest('hex')];
    }),
  );
}
