import Database from 'better-sqlite3';
import { Observable } from 'rxjs';

import { CatchUpSubscription } from './catch-up-subscription.ts';
import { WrongExpectedVersion } from './errors.ts';
import {
  type EventRow,
  readRangeSql,
  SCHEMA,
  toRecordedEvent,
} from './sqlite-schema.ts';
import {
  eventId,
  matchesExpectedRevision,
  optionalCount,
  requireEventType,
  requireExpectedRevision,
  requireNonNegativeInteger,
  requirePositiveInteger,
  requireStreamId,
  toJson,
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

/** Options of {@link openSqliteEventStore}. */
export interface SqliteEventStoreOptions {
  /** Database file, or ':memory:' for a private in-memory store. */
  path: string;
  /**
   * How often live subscriptions check the file for events appended by
   * other processes, in milliseconds. Default 50.
   */
  pollIntervalMs?: number;
  /** How long an append waits for another writer's lock, in ms. Default 10 000. */
  busyTimeoutMs?: number;
  /** Events per catch-up read of a subscription. Default 500. */
  catchUpBatchSize?: number;
}

/** The connection settings that decide durability and sharing. */
export interface SqliteConnectionSettings {
  journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  busyTimeoutMs: number;
}

interface StreamTail {
  revision: number;
  position: number;
}

/** Reads one stream: stream id, first revision, limit. */
type StreamStatement = Database.Statement<[string, number, number], EventRow>;

/** SQLite's LIMIT value for "no limit". */
const NO_LIMIT = -1;

/**
 * Opens (and creates when missing) an event store in one SQLite file. Several
 * processes may open the same file, because appends serialise on SQLite's
 * write lock.
 */
export function openSqliteEventStore(
  options: SqliteEventStoreOptions,
): SqliteEventStore {
  return new SqliteEventStore(options);
}

/** The event-store port on better-sqlite3, one `events` table. */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly pollIntervalMs: number;
  private readonly catchUpBatchSize: number;
  private readonly subscriptions = new Set<CatchUpSubscription>();
  private readonly readAllStatements = new Map<string, Database.Statement>();
  private readonly selectTail: Database.Statement<[string], StreamTail>;
  private readonly selectHead: Database.Statement<[], { head: number }>;
  private readonly selectStreamForwards: StreamStatement;
  private readonly selectStreamBackwards: StreamStatement;
  private readonly insertEvent: Database.Statement<unknown[]>;
  private readonly append: Database.Transaction<
    (
      streamId: string,
      events: readonly EventToAppend[],
      expected: ExpectedRevision,
    ) => AppendResult
  >;
  private closed = false;

  constructor(options: SqliteEventStoreOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.catchUpBatchSize = options.catchUpBatchSize ?? 500;
    requirePositiveInteger('pollIntervalMs', this.pollIntervalMs);
    requirePositiveInteger('catchUpBatchSize', this.catchUpBatchSize);
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    requireNonNegativeInteger('busyTimeoutMs', busyTimeoutMs);

    // The busy timeout is set by the constructor so that it already applies
    // to the pragmas and the schema below when other processes hold a lock.
    this.db = new Database(options.path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    // better-sqlite3 12 compiles SQLite with DEFAULT_WAL_SYNCHRONOUS=1, so a
    // WAL connection commits as NORMAL unless synchronous is set explicitly.
    // NORMAL can lose acknowledged appends on a power cut.
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);

    this.selectTail = this.db.prepare(
      `SELECT revision, position FROM events WHERE stream_id = ?
       ORDER BY revision DESC LIMIT 1`,
    );
    this.selectHead = this.db.prepare(
      'SELECT coalesce(max(position), 0) AS head FROM events',
    );
    this.selectStreamForwards = this.db.prepare(
      `SELECT * FROM events WHERE stream_id = ? AND revision >= ?
       ORDER BY revision ASC LIMIT ?`,
    );
    this.selectStreamBackwards = this.db.prepare(
      `SELECT * FROM events WHERE stream_id = ? AND revision <= ?
       ORDER BY revision DESC LIMIT ?`,
    );
    this.insertEvent = this.db.prepare(
      `INSERT INTO events
         (id, stream_id, revision, type, data, metadata, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.append = this.db.transaction((streamId, events, expected) =>
      this.appendInTransaction(streamId, events, expected),
    );
  }

  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    return run(() => {
      const expected = options.expectedRevision ?? 'any';
      requireStreamId(streamId);
      requireExpectedRevision(expected);

      // BEGIN IMMEDIATE takes the write lock before the revision check, so
      // writers in every process serialise and commit in position order. So a
      // reader that sees position N has seen every position below it.
      const result = this.append.immediate(streamId, events, expected);
      for (const subscription of this.subscriptions) {
        subscription.wake();
      }
      return result;
    });
  }

  readStream(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent[]> {
    return run(() => {
      requireStreamId(streamId);
      const backwards = options.direction === 'backwards';
      const limit = optionalCount('maxCount', options.maxCount) ?? NO_LIMIT;
      const from = optionalCount('fromRevision', options.fromRevision);

      const statement = backwards
        ? this.selectStreamBackwards
        : this.selectStreamForwards;
      const start = from ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
      return statement.all(streamId, start, limit).map(toRecordedEvent);
    });
  }

  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return run(() => {
      const from = optionalCount('fromPosition', options.fromPosition) ?? 0;
      const limit = optionalCount('maxCount', options.maxCount) ?? NO_LIMIT;
      const rows = this.readRange(
        from,
        Number.MAX_SAFE_INTEGER,
        options.filter,
        limit,
      );
      return rows.map(toRecordedEvent);
    });
  }

  /**
   * Catches up in batches, then follows appends made through this instance
   * at once and appends from other processes within `pollIntervalMs`. An
   * open subscription keeps its poll timer, and so the Node process, alive
   * until it is unsubscribed or the store is closed.
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
      const subscription = new CatchUpSubscription({
        subscriber,
        fromPosition: from,
        batchSize: this.catchUpBatchSize,
        pollIntervalMs: this.pollIntervalMs,
        readHead: () => this.readHead(),
        readRange: (after, upTo, limit) =>
          this.readRange(after, upTo, options.filter, limit).map(
            toRecordedEvent,
          ),
        onStop: () => this.subscriptions.delete(subscription),
      });
      this.subscriptions.add(subscription);
      subscription.start();
      return () => subscription.stop();
    });
  }

  headPosition(): Promise<number> {
    return run(() => this.readHead());
  }

  /** Completes every open subscription, then closes the database. */
  close(): Promise<void> {
    return run(() => {
      if (this.closed) return;
      this.closed = true;
      for (const subscription of [...this.subscriptions]) {
        subscription.complete();
      }
      this.db.close();
    });
  }

  /** Reads this connection's journal mode, synchronous level and timeout. */
  connectionSettings(): SqliteConnectionSettings {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
    };
  }

  private appendInTransaction(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): AppendResult {
    const tail = this.selectTail.get(streamId);
    const actual = tail === undefined ? 'no_stream' : tail.revision;
    if (!matchesExpectedRevision(expected, actual)) {
      throw new WrongExpectedVersion(streamId, expected, actual);
    }

    let revision = tail?.revision ?? -1;
    let position = tail?.position ?? 0;
    const createdAt = Date.now();
    for (const event of events) {
      revision += 1;
      const id = eventId(event);
      try {
        const info = this.insertEvent.run(
          id,
          streamId,
          revision,
          requireEventType(event.type),
          toJson('data', event.data),
          toJson('metadata', event.metadata ?? {}),
          createdAt,
        );
        position = Number(info.lastInsertRowid);
      } catch (error) {
        throw duplicateIdOr(error, id, streamId);
      }
    }
    return { nextExpectedRevision: revision, position };
  }

  private readHead(): number {
    return this.selectHead.get()?.head ?? 0;
  }

  /** Reads events with `after < position <= upTo` that pass the filter. */
  private readRange(
    after: number,
    upTo: number,
    filter: EventFilter | undefined,
    limit: number,
  ): EventRow[] {
    const prefixes = filter?.streamPrefixes;
    const types = filter?.eventTypes;
    const key = `${String(prefixes?.length)}:${String(types?.length)}`;
    let statement = this.readAllStatements.get(key);
    if (statement === undefined) {
      statement = this.db.prepare(readRangeSql(prefixes, types));
      this.readAllStatements.set(key, statement);
    }
    const params = [after, upTo, ...(prefixes ?? []), ...(types ?? []), limit];
    return statement.all(...params) as EventRow[];
  }
}

function duplicateIdOr(error: unknown, id: string, streamId: string): unknown {
  const isDuplicateId =
    error instanceof Database.SqliteError &&
    error.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes('events.id');
  if (!isDuplicateId) return error;
  // NOTE: EventStoreDB instead ignores a repeated id within one stream
  // (idempotent append) and allows the same id in another stream.
  return new Error(
    `Append to stream ${streamId} rejected: event id ${id} is already ` +
      'recorded. Give every event a new UUID, or omit the id.',
    { cause: error },
  );
}

/** Runs synchronous database work and reports its outcome as a promise. */
function run<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}
