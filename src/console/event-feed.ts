import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { PaymentEvent } from '../gen/payment/callback/v1/payment_callback';
import type { Logger } from '../logger';
import type { CoreApi } from './core-api';

export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

/**
 * One WatchPaymentEvents stream for the whole console, fanned out to every browser (a stream per
 * tab would soon reach the core's EVENTS_MAX_STREAMS_PER_CALLER). It starts from now, keeps the
 * last `capacity` events for pages that open later, and after a break resumes after the last
 * cursor it saw, so no event in between is lost.
 */
export class EventFeed {
  private readonly recentEvents: PaymentEvent[] = [];
  private readonly listeners = new Set<(e: PaymentEvent) => void>();
  private stream: ClientReadableStream<PaymentEvent> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastCursor = '';
  private failures = 0;
  state: FeedState = 'stopped';
  lastError: string | undefined;
  lastEventAt: Date | undefined;

  constructor(
    private readonly api: CoreApi,
    private readonly log: Logger,
    private readonly capacity = 500,
  ) {}

  start(): void {
    if (this.state !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.stream = undefined;
  }

  /** The kept events, newest first. */
  recent(): readonly PaymentEvent[] {
    return [...this.recentEvents].reverse();
  }

  /** Kept events after `cursor` (oldest first), for an EventSource that reconnects with Last-Event-ID. */
  after(cursor: string): PaymentEvent[] {
    const i = this.recentEvents.findIndex((e) => e.cursor === cursor);
    return i < 0 ? [] : this.recentEvents.slice(i + 1);
  }

  subscribe(listener: (e: PaymentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private connect(): void {
    this.state = this.lastCursor === '' && this.failures === 0 ? 'connecting' : 'reconnecting';
    const stream = this.api.watch(this.lastCursor === '' ? { fromNow: true } : { afterCursor: this.lastCursor });
    this.stream = stream;
    // The core sends nothing (not even headers) until an event commits, while a refused or
    // unreachable stream fails within moments: one that is still open after a second is live.
    const opened = setTimeout(() => {
      if (this.stream !== stream) return;
      this.state = 'live';
      this.failures = 0;
      this.lastError = undefined;
    }, 1_000);
    opened.unref();
    stream.on('data', (e: PaymentEvent) => {
      this.state = 'live';
      this.failures = 0;
      this.lastCursor = e.cursor;
      this.lastEventAt = new Date();
      this.recentEvents.push(e);
      if (this.recentEvents.length > this.capacity) this.recentEvents.shift();
      for (const listener of this.listeners) listener(e);
    });
    stream.on('error', (err: ServiceError) => {
      clearTimeout(opened);
      if (this.stream !== stream || this.state === 'stopped') return;
      this.lastError = `${status[err.code] ?? err.code}: ${err.details}`;
      this.retry();
    });
    stream.on('end', () => {
      if (this.stream !== stream || this.state === 'stopped') return;
      this.retry();
    });
  }

  private retry(): void {
    this.stream = undefined;
    this.failures += 1;
    this.state = 'reconnecting';
    const delay = Math.min(10_000, 250 * 2 ** Math.min(this.failures, 6));
    this.log.warn(
      { error: this.lastError, retry_ms: delay, cursor: this.lastCursor },
      'payment event stream ended; reconnecting',
    );
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }
}
