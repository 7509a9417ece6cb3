import type { EventSequencer } from '../store/event-sequencer';
import type { OutboxSignal } from '../store/outbox-signal';
import type { StoredPaymentEvent } from '../store/payment-events-table';
import type { PaymentQueries } from '../store/payment-queries';
import { ApiError } from './api-error';

export interface EventStreamOptions {
  /** How often to look for events committed by other replicas. */
  readonly pollMs: number;
  /** Events read per query; also bounds what one stream holds in memory. */
  readonly batchSize: number;
}

export interface EventSink {
  /** Resolves when the consumer can take more (flow control), rejects if it went away. */
  write(event: StoredPaymentEvent): Promise<void>;
  /** The stream's position, for the lag metric. */
  progress(cursor: number, latest: number): void;
}

export interface WatchRequest {
  readonly afterCursor: string;
  /**
   * The merchants to follow (empty: all), asked again before every batch: a merchants reload
   * can narrow what the caller may see while its stream is open. Throws to end the stream.
   */
  readonly mchIds: () => readonly string[];
  readonly fromNow: boolean;
}

/** A cursor is the event id in decimal; callers treat it as opaque. */
function parseCursor(cursor: string): number {
  if (cursor === '') return 0;
  if (!/^(0|[1-9]\d{0,14})$/.test(cursor)) {
    throw new ApiError(
      'INVALID_ARGUMENT',
      'after_cursor must be a cursor from a PaymentEvent, or empty to start from the beginning',
    );
  }
  return Number(cursor);
}

/**
 * Sends every event after the cursor in commit order, then follows new ones until `abort`.
 * Reads one batch at a time and only after the consumer has taken the previous one, so a slow
 * consumer holds at most one batch in this process.
 */
export async function streamEvents(
  deps: { queries: PaymentQueries; outbox: OutboxSignal; sequencer: EventSequencer; options: EventStreamOptions },
  request: WatchRequest,
  sink: EventSink,
  abort: AbortSignal,
): Promise<void> {
  const { queries, outbox, sequencer, options } = deps;
  let cursor = request.fromNow
    ? await sequencer.run().then(() => queries.latestEventId())
    : parseCursor(request.afterCursor);
  while (!abort.aborted) {
    // Committed events get their positions first; only positioned events are read.
    await sequencer.run();
    const batch = await queries.eventsAfter(cursor, options.batchSize, request.mchIds());
    for (const event of batch) {
      if (abort.aborted) return;
      await sink.write(event);
      cursor = event.id;
    }
    if (batch.length < options.batchSize) {
      sink.progress(cursor, cursor);
      await outbox.wait(options.pollMs, abort);
    } else {
      sink.progress(cursor, await queries.latestEventId());
    }
  }
}
