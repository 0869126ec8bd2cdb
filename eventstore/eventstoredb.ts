import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AppendResult as ClientAppendResult,
  type ReadStreamOptions as ClientReadStreamOptions,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';

import { WrongExpectedVersion } from './errors.ts';
import {
  appendPosition,
  describeHosts,
  eventPosition,
  isSystemStream,
  matchesNothing,
  timeoutError,
  toClientExpectedRevision,
  toEventData,
  toRecordedEvent,
  toSafeNumber,
  toWrongExpectedVersion,
  translateClientError,
} from './eventstoredb-mapping.ts';
import { CatchUpFeed, type FeedSource } from './eventstoredb-subscription.ts';
import {
  matchesExpectedRevision,
  optionalCount,
  requireExpectedRevision,
  requireNonNegativeInteger,
  requirePositiveInteger,
  requireStreamId,
} from './validation.ts';
import type { ClientRead, EventStoreDbClient } from './eventstoredb-client.ts';
import type {
  EventStoreDbStoreOptions,
  ReconnectSettings,
} from './eventstoredb-options.ts';
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

export type {
  ClientRead,
  ClientSubscription,
  EventStoreDbClient,
} from './eventstoredb-client.ts';
export type {
  EventStoreDbReconnectOptions,
  EventStoreDbStoreOptions,
  ReconnectAttempt,
} from './eventstoredb-options.ts';

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

function cancelQuietly(read: ClientRead<unknown>): void {
  read.cancel().catch(() => undefined);
}
