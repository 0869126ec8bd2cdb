import type { Observable } from 'rxjs';

/** Causation, correlation and actor of an event, stored beside it. */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  actor?: string;
  requestId?: string;
  schemaVersion?: number;
  [key: string]: unknown;
}

/** An event as a caller hands it to `appendToStream`. */
export interface EventToAppend {
  /** UUID; generated when missing. */
  id?: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
}

/** An event as the store recorded it. */
export interface RecordedEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  streamId: string;
  /** Zero-based index of the event within its stream. */
  revision: number;
  /** Position in the global log; strictly increasing, starting at 1. */
  position: number;
  createdAt: Date;
}

/**
 * The stream state an append requires, as in EventStoreDB: any state, no
 * stream yet, a stream with at least one event, or an exact revision (the
 * revision of the stream's last event).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

/**
 * The stream after an append. An empty append reports the stream's current
 * revision (-1 when the stream does not exist) and the position of its last
 * event (0 when it has none).
 */
export interface AppendResult {
  /** Revision of the last event appended. */
  nextExpectedRevision: number;
  /** Global position of the last event appended. */
  position: number;
}

export interface ReadStreamOptions {
  fromRevision?: number;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

/** Selects events from the global log; every given condition must hold. */
export interface EventFilter {
  /** The stream id starts with one of these; an empty list matches nothing. */
  streamPrefixes?: readonly string[];
  eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events after this position are read. 0 reads from the start. */
  fromPosition?: number;
  filter?: EventFilter;
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive, as in `readAll`. */
  fromPosition?: number;
  filter?: EventFilter;
}

/**
 * Message of a subscription: recorded events in position order and, once,
 * a `caughtUp` marker when it has delivered every event that existed when it
 * started reading live.
 */
export type SubscriptionMessage =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'caughtUp'; position: number };

/**
 * The event-store port. Adapters mirror EventStoreDB's semantics so that one
 * contract suite holds for all of them.
 */
export interface EventStore {
  /**
   * Appends events atomically. Throws `WrongExpectedVersion` when the
   * stream's state does not match `expectedRevision` (default 'any'), also
   * when `events` is empty.
   */
  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;

  /** Reads one stream; an unknown stream reads as empty. */
  readStream(
    streamId: string,
    options?: ReadStreamOptions,
  ): Promise<RecordedEvent[]>;

  /** Reads the global log forwards in position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /**
   * Catches up from `fromPosition`, then follows new events live. Messages
   * arrive asynchronously, never during `subscribe()`, and `close()`
   * completes the subscription.
   */
  subscribeToAll(
    options?: SubscribeToAllOptions,
  ): Observable<SubscriptionMessage>;

  /** Position of the last event in the log, 0 when it is empty. */
  headPosition(): Promise<number>;

  /** Completes open subscriptions and releases the store's resources. */
  close(): Promise<void>;
}
