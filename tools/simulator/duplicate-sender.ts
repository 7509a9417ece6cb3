import type { Random } from './random';
import { deliver, type Deliverable, type DeliveryResult, type SenderOptions } from './sender';

/**
 * WeChat runs many notification servers, and more than one of them can deliver the same
 * notification: the same body, a few milliseconds or seconds apart, each retrying on its own
 * schedule. This sends one notification from `offsetsMs.length` such senders.
 */
export async function deliverFromSenders(
  n: Deliverable,
  offsetsMs: readonly number[],
  options: SenderOptions,
): Promise<DeliveryResult[]> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return Promise.all(
    offsetsMs.map(async (offset, sender) => {
      if (offset > 0) await sleep(offset);
      return deliver(n, sender, options);
    }),
  );
}

/**
 * Start offsets for `senders` senders: the first at 0, the others spread at random over
 * [minGapMs, maxGapMs] after the one before. Sorted, so sender 0 is always first.
 */
export function senderOffsetsMs(senders: number, minGapMs: number, maxGapMs: number, random: Random): number[] {
  if (!Number.isInteger(senders) || senders < 1)
    throw new RangeError(`senders must be a positive integer, not ${senders}`);
  if (minGapMs < 0 || maxGapMs < minGapMs) throw new RangeError(`gap [${minGapMs}, ${maxGapMs}] ms`);
  const offsets = [0];
  for (let i = 1; i < senders; i++)
    offsets.push((offsets[i - 1] ?? 0) + random.int(Math.round(minGapMs), Math.round(maxGapMs)));
  return offsets;
}
