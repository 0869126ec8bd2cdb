import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendResult as ClientAppendResult,
  type AppendToStreamOptions,
  type JSONEventData,
  type Position,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadStreamOptions as ClientReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions as ClientSubscribeToAllOptions,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';

import { WrongExpectedVersion } from './errors.ts';
import {
  appendPosition,
  describeHosts,
  eventPosition,
  isSystemStream,
  isTransient,
  matchesFilter,
  matchesNothing,
  SubscriptionEnded,
  timeoutError,
  toClientExpectedRevision,
  toClientPosition,
  toEventData,
  toRecordedEvent,
  toSafeNumber,
  toServerFilter,
  toWrongExpectedVersion,
  translateClientError,
  type ClientRecordedEvent,
} from './eventstoredb-mapping.ts';
import {
  matchesExpectedRevision,
  optionalCount,
  requireExpectedRevision,
  requireNonNegativeInteger,
  requirePositiveInteger,
  requireStreamId,
} from './validation.ts';
import type {
  AppendResult,
  EventFilter,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  SubscriptionMessage,
} from './port.ts';

/** A read of the client: events as an async iterable that can be cancelled. */
export interface ClientRead<E> extends AsyncIterable<E> {
  cancel(): Promise<void>;
}

/** A catch-up subscription of the client: a Node stream in object mode. */
export interface ClientSubscription {
  /** Events received but not yet emitted as 'data'. */
  readonly readableLength: number;
  on(event: 'data', listener: (resolved: AllStreamResolvedEvent) => void): this;
  /** 'caughtUp' comes only from servers that send CaughtUp (23.10+). */
  on(event: 'caughtUp' | 'end', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  unsubscribe(): Promise<void>;
}

/**
 * The methods of @eventstore/db-client 6.2.1's `EventStoreDBClient` that
 * this adapter calls, so that tests can pass a fake.
 */
export interface EventStoreDbClient {
  appendToStream(
    streamName: string,
    events: JSONEventData[],
    options: AppendToStreamOptions,
  ): Promise<ClientAppendResult>;
  readStream(
    streamName: string,
    options: ClientReadStreamOptions,
  ): ClientRead<ResolvedEvent>;
  readAll(options: ClientReadAllOptions): ClientRead<AllStreamResolvedEvent>;
  subscribeToAll(options: ClientSubscribeToAllOptions): ClientSubscription;
  dispose(): Promise<void>;
}

/** Settings for subscribing again after a dropped connection. */
export interface EventStoreDbReconnectOptions {
  /** Consecutive failed attempts before the subscription errors. Default 10. */
  maxAttempts?: number;
  /** First delay in ms, doubled per further attempt. Default 100. */
  initialDelayMs?: number;
  /** Upper bound of the delay in ms. Default 5 000. */
  maxDelayMs?: number;
  /** Called before each attempt, e.g. to log it. */
  onReconnect?(attempt: ReconnectAttempt): void;
}

/** One scheduled attempt to subscribe again. */
export interface ReconnectAttempt {
  /** 1 for the first attempt after a failure. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Options of {@link openEventStoreDbStore}. */
export interface EventStoreDbStoreOptions {
  /**
   * Server URL, e.g. 'esdb://127.0.0.1:2113?tls=false'. There is no default
   * server. Error messages name its hosts, never its credentials.
   */
  connectionString: string;
  /**
   * Deadline of each client call in ms: an append, a stream read, a head
   * read, or a whole readAll. Subscriptions have none. Default 5 000.
   */
  deadlineMs?: number;
  reconnect?: EventStoreDbReconnectOptions;
  /**
   * Client to use instead of one built from `connectionString`, e.g. a fake
   * in tests. `close()` disposes it.
   */
  client?: EventStoreDbClient;
}

type ReconnectSettings = Required<
  Omit<EventStoreDbReconnectOptions, 'onReconnect'>
> &
  Pick<EventStoreDbReconnectOptions, 'onReconnect'>;

const CONNECTION_STRING_SCHEME = /^esdb(\+discover)?:\/\//i;

/** Opens the adapter. The client connects on the first call. */
export function openEventStoreDbStore(
  options: EventStoreDbStoreOptions,
): EventStoreDbStore {
  return new EventStoreDbStore(options);
}

/**
 * The event-store port on EventStoreDB 20 or later through
 * @eventstore/db-client 6.2.1. Positions are commit positions in $all (log
 * byte offsets: strictly increasing, with gaps). Streams whose id starts
 * with `$` are system streams: readAll, subscriptions and headPosition skip
 * them. Unlike SQLite, EventStoreDB keeps event ids unique per stream only:
 * it accepts an id that another stream already contains, and ignores a
 * repeated append of the same ids to one stream.
 */
export class EventStoreDbStore implements EventStore {
  private readonly connectionString: string;
  private readonly hosts: string;
  private readonly deadlineMs: number;
  private readonly reconnect: ReconnectSettings;
  private readonly feeds = new Set<CatchUpFeed>();
  private clientInstance: EventStoreDbClient | undefined;
  private closed = false;

  constructor(options: EventStoreDbStoreOptions) {
    const { connectionString } = options;
    if (
      typeof connectionString !== 'string' ||
      !CONNECTION_STRING_SCHEME.test(connectionString)
    ) {
      throw new TypeError(
        'Invalid connectionString: expected a URL that starts with esdb:// ' +
          'or esdb+discover://, e.g. esdb://127.0.0.1:2113?tls=false',
      );
    }
    this.connectionString = connectionString;
    this.hosts = describeHosts(connectionString);
    this.deadlineMs = options.deadlineMs ?? 5_000;
    requirePositiveInteger('deadlineMs', this.deadlineMs);
    this.reconnect = {
      maxAttempts: options.reconnect?.maxAttempts ?? 10,
      initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 5_000,
      onReconnect: options.reconnect?.onReconnect,
    };
    requireNonNegativeInteger('maxAttempts', this.reconnect.maxAttempts);
    requirePositiveInteger('initialDelayMs', this.reconnect.initialDelayMs);
    requirePositiveInteger('maxDelayMs', this.reconnect.maxDelayMs);
    this.clientInstance = options.client;
  }

  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    return this.run('appendToStream', async () => {
      const expected = options.expectedRevision ?? 'any';
      requireStreamId(streamId);
      requireExpectedRevision(expected);
      const proposed = toEventData(streamId, events);
      if (proposed.length === 0) {
        return this.checkEmptyAppend(streamId, expected);
      }

      let result: ClientAppendResult;
      try {
        result = await this.withDeadline('appendToStream', () =>
          this.client().appendToStream(streamId, proposed, {
            expectedRevision: toClientExpectedRevision(expected),
            deadline: this.deadlineMs,
          }),
        );
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        throw toWrongExpectedVersion(error, streamId, expected);
      }
      if (!result.success) {
        // Only a client built with throwOnAppendFailure=false reports a
        // mismatch this way, and 6.2.1 fills in no usable revision then.
        const last = await this.readLastEvent(streamId);
        const actual = last?.revision ?? 'no_stream';
        throw new WrongExpectedVersion(streamId, expected, actual);
      }

      const nextExpectedRevision = toSafeNumber(
        'revision',
        result.nextExpectedRevision,
      );
      const position =
        appendPosition(result.position) ??
        (await this.readLastEvent(streamId))?.position;
      if (position === undefined) {
        throw new Error(
          `Append to stream ${streamId} succeeded, but EventStoreDB ` +
            'reported no position and the stream reads as empty',
        );
      }
      return { nextExpectedRevision, position };
    });
  }

  readStream(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent[]> {
    return this.run('readStream', async () => {
      requireStreamId(streamId);
      const backwards = options.direction === 'backwards';
      const maxCount = optionalCount('maxCount', options.maxCount);
      const from = optionalCount('fromRevision', options.fromRevision);
      if (maxCount === 0) return [];

      let fromRevision: bigint | typeof START | typeof END;
      if (from !== undefined) fromRevision = BigInt(from);
      else fromRevision = backwards ? END : START;
      return this.readStreamEvents(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision,
        maxCount,
      });
    });
  }

  /**
   * Reads $all through a filtered catch-up subscription that stops at the
   * head, because client 6.2.1 cannot filter a plain read of $all and the
   * server should drop system events. The deadline covers the whole read.
   */
  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.run('readAll', async () => {
      const from = optionalCount('fromPosition', options.fromPosition) ?? 0;
      const maxCount =
        optionalCount('maxCount', options.maxCount) ?? Number.POSITIVE_INFINITY;
      if (maxCount === 0 || matchesNothing(options.filter)) return [];

      return this.withDeadline('readAll', (signal) =>
        this.readAllUpToHead(from, options.filter, maxCount, signal),
      );
    });
  }

  /**
   * Reads the head, then follows a catch-up subscription to $all. The
   * `caughtUp` marker carries that head, or `fromPosition` when it is
   * larger. After a transient error it subscribes again from the last event
   * it received, with doubling delays. Any other error, or a transient one
   * that outlasts the reconnect attempts, errors the Observable.
   */
  subscribeToAll(
    options: SubscribeToAllOptions = {},
  ): Observable<SubscriptionMessage> {
    return new Observable<SubscriptionMessage>((subscriber) => {
      if (this.closed) {
        subscriber.error(new Error('The event store is closed'));
        return undefined;
      }
      const from = optionalCount('fromPosition', options.fromPosition) ?? 0;
      const feed = new CatchUpFeed(
        this.feedSource('subscribeToAll', this.reconnect),
        from,
        options.filter,
        {
          event: (event) => subscriber.next({ kind: 'event', event }),
          caughtUp: (position) =>
            subscriber.next({ kind: 'caughtUp', position }),
          failed: (error) => subscriber.error(error),
          closed: () => subscriber.complete(),
        },
      );
      this.feeds.add(feed);
      feed.start();
      return () => feed.stop();
    });
  }

  /**
   * Returns the position of the last event outside system streams, 0 when
   * there is none. A read model that follows $all without a filter reaches
   * this position, because it receives every such event.
   */
  headPosition(): Promise<number> {
    return this.run('headPosition', () => this.readHead('headPosition'));
  }

  /** Completes open subscriptions and readAll calls, disposes the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const feed of [...this.feeds]) feed.close();
    const client = this.clientInstance;
    this.clientInstance = undefined;
    await client?.dispose();
  }

  private client(): EventStoreDbClient {
    if (this.closed) throw new Error('The event store is closed');
    this.clientInstance ??= EventStoreDBClient.connectionString(
      this.connectionString,
    );
    return this.clientInstance;
  }

  /** Runs one port call and translates the client's errors. */
  private async run<T>(call: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('The event store is closed');
    try {
      return await work();
    } catch (error) {
      throw this.translate(error, call);
    }
  }

  private translate(error: unknown, call: string): unknown {
    return translateClientError(error, {
      call,
      hosts: this.hosts,
      deadlineMs: this.deadlineMs,
    });
  }

  /**
   * Rejects with a timeout error after `deadlineMs` and aborts `signal`, so
   * that the work can cancel its read. Client 6.2.1 sends no deadline with
   * reads and subscriptions, so this timer is the only one that ends them.
   */
  private async withDeadline<T>(
    call: string,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        const context = {
          call,
          hosts: this.hosts,
          deadlineMs: this.deadlineMs,
        };
        reject(timeoutError(context));
      }, this.deadlineMs);
    });
    try {
      return await Promise.race([work(controller.signal), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks the expectation of an append without events against the stream. */
  private async checkEmptyAppend(
    streamId: string,
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const last = await this.readLastEvent(streamId);
    const actual = last?.revision ?? 'no_stream';
    if (!matchesExpectedRevision(expected, actual)) {
      throw new WrongExpectedVersion(streamId, expected, actual);
    }
    return {
      nextExpectedRevision: last?.revision ?? -1,
      position: last?.position ?? 0,
    };
  }

  private async readLastEvent(
    streamId: string,
  ): Promise<RecordedEvent | undefined> {
    const [last] = await this.readStreamEvents(streamId, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    });
    return last;
  }

  /** Reads one stream within the deadline. A missing stream reads as []. */
  private readStreamEvents(
    streamId: string,
    options: Pick<
      ClientReadStreamOptions,
      'direction' | 'fromRevision' | 'maxCount'
    >,
  ): Promise<RecordedEvent[]> {
    return this.withDeadline('readStream', async (signal) => {
      const read = this.client().readStream(streamId, {
        ...options,
        resolveLinkTos: false,
        deadline: this.deadlineMs,
      });
      const cancel = () => cancelQuietly(read);
      signal.addEventListener('abort', cancel);
      const events: RecordedEvent[] = [];
      try {
        for await (const resolved of read) {
          if (resolved.event !== undefined) {
            events.push(toRecordedEvent(resolved.event));
          }
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      } finally {
        signal.removeEventListener('abort', cancel);
      }
      return events;
    });
  }

  /**
   * Reads $all backwards from the end to the first event outside system
   * streams, and returns its position.
   */
  private readHead(call: string): Promise<number> {
    // NOTE: client 6.2.1 cannot filter this read on the server, so it scans
    // every system event written since the last other event. On a log that
    // the server keeps writing to, such as $stats streams, this grows.
    return this.withDeadline(call, async (signal) => {
      const read = this.client().readAll({
        direction: BACKWARDS,
        fromPosition: END,
        resolveLinkTos: false,
        deadline: this.deadlineMs,
      });
      const cancel = () => cancelQuietly(read);
      signal.addEventListener('abort', cancel);
      try {
        for await (const resolved of read) {
          const recorded = resolved.event;
          if (recorded !== undefined && !isSystemStream(recorded.streamId)) {
            return eventPosition(recorded);
          }
        }
        return 0;
      } finally {
        signal.removeEventListener('abort', cancel);
        // Stops the server from streaming the rest of the log.
        cancel();
      }
    });
  }

  private readAllUpToHead(
    fromPosition: number,
    filter: EventFilter | undefined,
    maxCount: number,
    signal: AbortSignal,
  ): Promise<RecordedEvent[]> {
    return new Promise((resolve, reject) => {
      const events: RecordedEvent[] = [];
      // Without reconnects, an unavailable server fails the call at once.
      const feed = new CatchUpFeed(
        this.feedSource('readAll', undefined),
        fromPosition,
        filter,
        {
          event: (event) => {
            events.push(event);
            if (events.length < maxCount) return;
            feed.stop();
            resolve(events);
          },
          caughtUp: () => {
            feed.stop();
            resolve(events);
          },
          failed: reject,
          closed: () =>
            reject(new Error('The event store was closed during readAll')),
        },
      );
      signal.addEventListener('abort', () => feed.stop());
      this.feeds.add(feed);
      feed.start();
    });
  }

  private feedSource(
    call: string,
    reconnect: ReconnectSettings | undefined,
  ): FeedSource {
    return {
      client: () => this.client(),
      readHead: () => this.readHead(call),
      translate: (error) => this.translate(error, call),
      deadlineMs: this.deadlineMs,
      reconnect,
      release: (feed) => this.feeds.delete(feed),
    };
  }
}

/** Store access of a {@link CatchUpFeed}. */
interface FeedSource {
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
interface FeedHandlers {
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
class CatchUpFeed {
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

function cancelQuietly(read: ClientRead<unknown>): void {
  read.cancel().catch(() => undefined);
}

function unsubscribeQuietly(subscription: ClientSubscription): void {
  subscription.unsubscribe().catch(() => undefined);
}
