import type { AllStreamResolvedEvent, Position } from '@eventstore/db-client';

import {
  isSystemStream,
  isTransient,
  matchesFilter,
  SubscriptionEnded,
  toClientPosition,
  toRecordedEvent,
  toServerFilter,
  type ClientRecordedEvent,
} from './eventstoredb-mapping.ts';
import type {
  ClientSubscription,
  EventStoreDbClient,
} from './eventstoredb-client.ts';
import type { ReconnectSettings } from './eventstoredb-options.ts';
import type { EventFilter, RecordedEvent } from './port.ts';

/** Store access of a {@link CatchUpFeed}. */
export interface FeedSource {
  client(): EventStoreDbClient;
  /** Position of the last event outside system streams. */
  readHead(): Promise<number>;
  translate(error: unknown): unknown;
  deadlineMs: number;
  /** Undefined when the feed fails on the first error. */
  reconnect: ReconnectSettings | undefined;
  /** Called once when the feed stops for any reason. */
  release(feed: CatchUpFeed): void;
}

/** Receivers of a {@link CatchUpFeed}'s output. */
export interface FeedHandlers {
  event(event: RecordedEvent): void;
  caughtUp(position: number): void;
  failed(error: unknown): void;
  /** The store closed. */
  closed(): void;
}

/**
 * Follows $all after an exclusive position through the client's catch-up
 * subscription. It reads the head first, then delivers events in position
 * order and calls `caughtUp` once, when it has passed that head. Evidence
 * of passing it is an event at or past the head, a checkpoint past it, or
 * the server's CaughtUp message (servers from 23.10 on). After a transient
 * error it subscribes again from the last event it saw, and drops the
 * events up to that one that the server sends again.
 */
export class CatchUpFeed {
  private cursor: number;
  private head = 0;
  /** Position of the caughtUp marker; known once the head is read. */
  private markerPosition: number | undefined;
  private caughtUp = false;
  private stopped = false;
  private current: ClientSubscription | undefined;
  /** Failures since the last message from the server. */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Buffered events that the pending marker must follow. */
  private eventsBeforeMarker: number | undefined;

  constructor(
    private readonly source: FeedSource,
    fromPosition: number,
    private readonly filter: EventFilter | undefined,
    private readonly handlers: FeedHandlers,
  ) {
    this.cursor = fromPosition;
  }

  start(): void {
    void this.connect();
  }

  /** Stops reading without notifying the handlers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const subscription = this.current;
    this.current = undefined;
    if (subscription !== undefined) unsubscribeQuietly(subscription);
    this.source.release(this);
  }

  /** Stops and reports that the store closed. */
  close(): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.closed();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    try {
      if (this.markerPosition === undefined) {
        const head = await this.source.readHead();
        if (this.stopped) return;
        this.head = head;
        this.markerPosition = Math.max(head, this.cursor);
        if (this.cursor >= head) this.markCaughtUp();
        if (this.stopped) return;
      }
      this.subscribe();
    } catch (error) {
      this.fail(undefined, error);
    }
  }

  private subscribe(): void {
    const subscription = this.source.client().subscribeToAll({
      fromPosition: toClientPosition(this.cursor),
      filter: toServerFilter(this.filter, (from, position) => {
        this.onCheckpoint(from, position);
      }),
      resolveLinkTos: false,
      // Client 6.2.1 drops this deadline because a subscription is
      // open-ended. It is set anyway, so that every call states one.
      deadline: this.source.deadlineMs,
    });
    this.current = subscription;
    subscription.on('data', (resolved) => {
      this.onData(subscription, resolved);
    });
    subscription.on('caughtUp', () => {
      this.onServerCaughtUp(subscription);
    });
    subscription.on('error', (error) => {
      this.fail(subscription, error);
    });
    subscription.on('end', () => {
      this.fail(subscription, new SubscriptionEnded());
    });
  }

  private onData(
    subscription: ClientSubscription,
    resolved: AllStreamResolvedEvent,
  ): void {
    if (subscription !== this.current) return;
    this.failures = 0;
    try {
      this.deliver(resolved.event);
    } catch (error) {
      this.fail(subscription, error);
      return;
    }
    if (this.eventsBeforeMarker === undefined || this.stopped) return;
    this.eventsBeforeMarker -= 1;
    if (this.eventsBeforeMarker === 0) this.markCaughtUp();
  }

  private deliver(recorded: ClientRecordedEvent | undefined): void {
    if (recorded === undefined || isSystemStream(recorded.streamId)) return;
    const event = toRecordedEvent(recorded);
    // The subscription may start at the cursor's own event. The feed has
    // already seen that event and every older one.
    if (event.position <= this.cursor) return;

    // An event past the head ends the catch-up even when no event at the
    // head passed the filter, so the marker goes out before it.
    if (!this.caughtUp && event.position > this.head) this.markCaughtUp();
    if (this.stopped) return;
    this.cursor = event.position;
    if (matchesFilter(event, this.filter)) this.handlers.event(event);
    if (!this.caughtUp && !this.stopped && this.cursor >= this.head) {
      this.markCaughtUp();
    }
  }

  private onCheckpoint(from: unknown, position: Position): void {
    if (from !== this.current || this.caughtUp) return;
    this.failures = 0;
    // A checkpoint is the position where the server's next read starts, so
    // one past the head means it has considered the head's event.
    if (position.commit > BigInt(this.head)) this.markCaughtUpAfterBuffered();
  }

  private onServerCaughtUp(subscription: ClientSubscription): void {
    if (subscription !== this.current || this.caughtUp) return;
    this.markCaughtUpAfterBuffered();
  }

  /**
   * Emits the marker after the events that the client has already received
   * but not yet emitted, because it reports checkpoints and CaughtUp while
   * earlier events may still wait in its stream buffer.
   */
  private markCaughtUpAfterBuffered(): void {
    const subscription = this.current;
    if (subscription === undefined || this.eventsBeforeMarker !== undefined) {
      return;
    }
    const buffered = subscription.readableLength;
    if (buffered === 0) this.markCaughtUp();
    else this.eventsBeforeMarker = buffered;
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.eventsBeforeMarker = undefined;
    this.handlers.caughtUp(this.markerPosition ?? this.head);
  }

  /**
   * Subscribes again after a transient error while attempts remain, with
   * a doubling delay. Otherwise stops and reports the error.
   */
  private fail(
    subscription: ClientSubscription | undefined,
    error: unknown,
  ): void {
    if (this.stopped || subscription !== this.current) return;
    this.current = undefined;
    this.eventsBeforeMarker = undefined;
    if (subscription !== undefined) unsubscribeQuietly(subscription);

    const reconnect = this.source.reconnect;
    if (
      reconnect !== undefined &&
      isTransient(error) &&
      this.failures < reconnect.maxAttempts
    ) {
      this.failures += 1;
      const delayMs = Math.min(
        reconnect.maxDelayMs,
        reconnect.initialDelayMs * 2 ** (this.failures - 1),
      );
      reconnect.onReconnect?.({ attempt: this.failures, delayMs, error });
      this.retryTimer = setTimeout(() => {
        void this.connect();
      }, delayMs);
      return;
    }
    this.stop();
    this.handlers.failed(this.source.translate(error));
  }
}

function unsubscribeQuietly(subscription: ClientSubscription): void {
  subscription.unsubscribe().catch(() => undefined);
}
