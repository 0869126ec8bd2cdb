import type { Subscriber } from 'rxjs';

import type { RecordedEvent, SubscriptionMessage } from './port.ts';

/**
 * Store access and settings for a catch-up subscription. Reads must be
 * synchronous, and positions must have no gaps from in-flight writes.
 */
export interface CatchUpSource {
  subscriber: Subscriber<SubscriptionMessage>;
  /** Exclusive start position. */
  fromPosition: number;
  batchSize: number;
  /** Interval of the check for appends that no `wake()` announces, in ms. */
  pollIntervalMs: number;
  /** Position of the last committed event, 0 when there is none. */
  readHead(): number;
  /**
   * Events with `after < position <= upTo` that pass the subscription's
   * filter, in position order, at most `limit`.
   */
  readRange(after: number, upTo: number, limit: number): RecordedEvent[];
  /** Called once when the subscription stops for any reason. */
  onStop(): void;
}

/**
 * Limits the positions one read scans, so that a selective filter over a
 * long log does not block the event loop in a single query.
 */
const MAX_SCAN = 10_000;

/**
 * Delivers a store's events after a position. It reads batches until it
 * reaches the head, emits `caughtUp` once, then reads again whenever it is
 * woken or its poll timer fires. A single cursor feeds both phases, so no
 * event is skipped or repeated at the switch. Every read runs in a later
 * macrotask (setImmediate), never inside `start()` or `wake()`.
 */
export class CatchUpSubscription {
  private cursor: number;
  private caughtUp = false;
  private stopped = false;
  /** A read step is scheduled or running. */
  private scheduled = false;
  /** A wake arrived while a step was scheduled, so one more read follows. */
  private wakePending = false;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly source: CatchUpSource) {
    this.cursor = source.fromPosition;
  }

  start(): void {
    this.schedule();
  }

  /** Requests a read, e.g. after an append through the same store. */
  wake(): void {
    if (this.stopped) return;
    if (this.scheduled) {
      this.wakePending = true;
      return;
    }
    this.schedule();
  }

  /** Stops reading and timers without notifying the subscriber. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.source.onStop();
  }

  /** Stops and completes the subscriber, e.g. when the store closes. */
  complete(): void {
    this.stop();
    this.source.subscriber.complete();
  }

  private schedule(): void {
    this.scheduled = true;
    setImmediate(() => {
      this.step();
    });
  }

  private step(): void {
    if (this.stopped) return;
    this.wakePending = false;
    let hasMore: boolean;
    try {
      hasMore = this.readBatch();
    } catch (error) {
      this.stop();
      this.source.subscriber.error(error);
      return;
    }
    if (this.stopped) return;

    // The marker goes out as soon as one read reaches the head, even when
    // more appends are already waiting, so steady writes cannot delay it.
    if (!hasMore && !this.caughtUp) {
      this.caughtUp = true;
      this.source.subscriber.next({ kind: 'caughtUp', position: this.cursor });
      if (this.stopped) return;
      this.startPolling();
    }
    if (hasMore || this.wakePending) {
      this.schedule();
    } else {
      this.scheduled = false;
    }
  }

  /** Delivers one batch and returns whether more events may be waiting. */
  private readBatch(): boolean {
    const { subscriber, batchSize } = this.source;
    // Every position up to the head is committed, so reading up to it and
    // then moving the cursor there cannot skip an event still being written.
    const head = this.source.readHead();
    const upTo = Math.min(head, this.cursor + MAX_SCAN);
    if (upTo <= this.cursor) return false;

    const events = this.source.readRange(this.cursor, upTo, batchSize);
    for (const event of events) {
      if (this.stopped) return false;
      subscriber.next({ kind: 'event', event });
      this.cursor = event.position;
    }
    if (events.length < batchSize) this.cursor = upTo;
    return this.cursor < head;
  }

  private startPolling(): void {
    this.pollTimer = setInterval(() => {
      this.wake();
    }, this.source.pollIntervalMs);
  }
}
