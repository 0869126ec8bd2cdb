import {
  ANY,
  CancelledError,
  DeadlineExceededError,
  eventTypeFilter,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  streamNameFilter,
  UnavailableError,
  type AppendExpectedRevision,
  type Filter,
  type JSONEventData,
  type JSONType,
  type Position,
  type ReadPosition,
  type WrongExpectedVersionError,
} from '@eventstore/db-client';

import { WrongExpectedVersion } from './errors.ts';
import { eventId, requireEventType, toJson } from './validation.ts';
import type {
  EventFilter,
  EventMetadata,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
} from './port.ts';

// Conversions between the event-store port and @eventstore/db-client 6.2.1.
//
// Positions: the port's position is the event's commit position in $all.
// Every append through gRPC is an implicit transaction. The server writes
// each of its events as a prepare record flagged IsCommitted, back to back
// (StorageWriterService handling WritePrepares), and AllReader reports such
// an event at TFPos(LogPosition, LogPosition). So commit and prepare are
// both the event's own byte offset in the transaction log, unique and
// strictly increasing in $all order, also for every event of a multi-event
// append. The append's commit position is the log position of its last
// prepare, because StorageChaser acknowledges the commit with it and
// RequestManagerBase reports that acknowledgement. So it equals the last
// event's position. Source: the KurrentDB (EventStoreDB) server code of
// these four classes.
// Only events of explicit transactions, which the legacy TCP API offers and
// gRPC does not, have commit != prepare and share one commit position. This
// module rejects them instead of returning positions that repeat.

/** Server-side regex of the stream-name filter that drops system streams. */
export const NON_SYSTEM_STREAM_REGEX = '^[^$]';

/**
 * A recorded event as the client returns it, reduced to the fields this
 * adapter reads. The client's JSON and binary events both fit.
 */
export interface ClientRecordedEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: Position;
}

/** Call details for error messages. */
export interface CallContext {
  /** The method of the port or client that failed, e.g. 'appendToStream'. */
  call: string;
  /** Host list of the connection string, without credentials. */
  hosts: string;
  deadlineMs: number;
}

/** Checks whether a stream is an EventStoreDB system stream (`$` prefix). */
export function isSystemStream(streamId: string): boolean {
  return streamId.startsWith('$');
}

/**
 * Maps the port's expected revision to the client's `expectedRevision`.
 * `@kurrent/kurrentdb-client`, the successor of this client, names the same
 * option `streamState`.
 */
export function toClientExpectedRevision(
  expected: ExpectedRevision,
): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

/** Converts the client's error, keeping the revision the caller expected. */
export function toWrongExpectedVersion(
  error: WrongExpectedVersionError,
  streamId: string,
  expected: ExpectedRevision,
): WrongExpectedVersion {
  const actual =
    typeof error.actualVersion === 'bigint'
      ? toSafeNumber('actual revision', error.actualVersion)
      : 'no_stream';
  const converted = new WrongExpectedVersion(streamId, expected, actual);
  converted.cause = error;
  return converted;
}

/**
 * Checks the events of one append and converts them to the client's JSON
 * events. Throws when an event id repeats within the append, because
 * EventStoreDB would record both events under one id.
 */
export function toEventData(
  streamId: string,
  events: readonly EventToAppend[],
): JSONEventData[] {
  const seen = new Set<string>();
  return events.map((event) => {
    const id = eventId(event);
    if (seen.has(id)) {
      throw new Error(
        `Append to stream ${streamId} rejected: event id ${id} appears ` +
          'twice in one append. Give every event a new UUID, or omit the id.',
      );
    }
    seen.add(id);
    const metadata = event.metadata ?? {};
    // The client serialises again. This call only rejects values that JSON
    // cannot hold, such as undefined.
    toJson('data', event.data);
    toJson('metadata', metadata);
    return {
      id,
      contentType: 'application/json',
      type: requireEventType(event.type),
      data: event.data as JSONType,
      metadata: metadata as JSONType,
    };
  });
}

/** Converts a recorded event of the client to the port's shape. */
export function toRecordedEvent(recorded: ClientRecordedEvent): RecordedEvent {
  return {
    id: recorded.id,
    type: recorded.type,
    data: recorded.data,
    metadata: toMetadata(recorded.metadata),
    streamId: recorded.streamId,
    revision: toSafeNumber('revision', recorded.revision),
    position: eventPosition(recorded),
    createdAt: recorded.created,
  };
}

/**
 * Returns the port position of a recorded event, its commit position.
 * Throws when the server sent none or when commit and prepare differ.
 */
export function eventPosition(recorded: ClientRecordedEvent): number {
  const where = `event ${recorded.id} in stream ${recorded.streamId}`;
  const commit = toPositionNumber(recorded.position?.commit);
  const prepare = toPositionNumber(recorded.position?.prepare);
  if (commit === undefined || prepare === undefined) {
    throw new Error(
      `EventStoreDB sent no $all position for ${where}. Stream reads carry ` +
        'it only on servers later than 22.6.0, so upgrade the server.',
    );
  }
  if (commit !== prepare) {
    throw new Error(
      `Unsupported ${where}: it was written in an explicit transaction ` +
        `(commit position ${String(commit)}, prepare position ` +
        `${String(prepare)}), so its position is not unique. This adapter ` +
        'reads logs written by single appends only.',
    );
  }
  return commit;
}

/**
 * Returns the commit position an append reported, or undefined when the
 * server sent none. Older servers reply to an idempotent repeat of an
 * earlier append with position -1.
 */
export function appendPosition(
  position: Position | undefined,
): number | undefined {
  return toPositionNumber(position?.commit);
}

/**
 * Maps the port's exclusive position to a start for the client, the event
 * at that position itself. Reads of $all include that event, and client
 * 6.2.1 does not document whether subscriptions do. Callers drop every
 * event at or before `position`, so either way gives the same result. A
 * position must be 0 or one this store returned, because the server reads
 * from a record boundary.
 */
export function toClientPosition(position: number): ReadPosition {
  if (position === 0) return START;
  const value = BigInt(position);
  return { commit: value, prepare: value };
}

/** Checks whether an event passes every condition of the port's filter. */
export function matchesFilter(
  event: Pick<RecordedEvent, 'streamId' | 'type'>,
  filter: EventFilter | undefined,
): boolean {
  const prefixes = filter?.streamPrefixes;
  if (
    prefixes !== undefined &&
    !prefixes.some((prefix) => event.streamId.startsWith(prefix))
  ) {
    return false;
  }
  const types = filter?.eventTypes;
  return types === undefined || types.includes(event.type);
}

/** Checks whether a filter matches no event at all (an empty list). */
export function matchesNothing(filter: EventFilter | undefined): boolean {
  return (
    filter?.streamPrefixes?.length === 0 || filter?.eventTypes?.length === 0
  );
}

/**
 * Builds the server-side filter of a subscription to $all. EventStoreDB
 * applies one filter per subscription, on stream names or on event types:
 * - stream prefixes when given (event types are then checked client-side);
 * - otherwise event types as prefixes of the type, because system events
 *   have types that start with `$`;
 * - otherwise a stream-name regex that drops system streams.
 * The server's prefix match is culture-sensitive .NET `StartsWith`, so
 * callers check every condition again with {@link matchesFilter}.
 */
export function toServerFilter(
  filter: EventFilter | undefined,
  checkpointReached: Filter['checkpointReached'],
): Filter {
  // One checkpoint per search window of the server, the most frequent
  // setting. Checkpoints let a subscription notice that it passed the head
  // when the events near the head do not match.
  const common = { checkpointInterval: 1, checkpointReached };
  const prefixes = filter?.streamPrefixes;
  const types = filter?.eventTypes;
  if (prefixes !== undefined && prefixes.length > 0) {
    return streamNameFilter({ ...common, prefixes: [...prefixes] });
  }
  if (prefixes === undefined && types !== undefined && types.length > 0) {
    return eventTypeFilter({ ...common, prefixes: [...types] });
  }
  return streamNameFilter({ ...common, regex: NON_SYSTEM_STREAM_REGEX });
}

/**
 * Returns the host list of a connection string without scheme,
 * credentials, path or query, e.g. '127.0.0.1:2113'.
 */
export function describeHosts(connectionString: string): string {
  const withoutScheme = connectionString.replace(
    /^[a-z][a-z0-9+.-]*:\/\//i,
    '',
  );
  const authority = withoutScheme.split(/[/?#]/, 1)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  return hosts === '' ? 'the configured address' : hosts.replace(/,/g, ', ');
}

/**
 * Replaces the client's unavailable and deadline errors with messages that
 * name the call, the server and the fix. Returns other errors unchanged.
 */
export function translateClientError(
  error: unknown,
  context: CallContext,
): unknown {
  if (error instanceof UnavailableError || grpcCode(error) === UNAVAILABLE) {
    return new Error(
      `EventStoreDB ${context.call} failed: the server at ` +
        `${context.hosts} is unavailable (gRPC status 14). Start the ` +
        'server, or set the connection string to a running server.',
      { cause: error },
    );
  }
  if (
    error instanceof DeadlineExceededError ||
    grpcCode(error) === DEADLINE_EXCEEDED
  ) {
    return timeoutError(context, error);
  }
  return error;
}

/** Builds the error of a call that did not finish within its deadline. */
export function timeoutError(context: CallContext, cause?: unknown): Error {
  return new Error(
    `EventStoreDB ${context.call} timed out after ` +
      `${String(context.deadlineMs)} ms (deadlineMs) on ${context.hosts}. ` +
      'Check that the server is healthy, or raise deadlineMs.',
    { cause },
  );
}

/** The client's subscription stream ended with no error and no unsubscribe. */
export class SubscriptionEnded extends Error {
  override readonly name = 'SubscriptionEnded';

  constructor() {
    super('EventStoreDB ended the subscription to $all without an error');
  }
}

/**
 * Checks whether a subscription may recover by subscribing again, because
 * the server became unavailable, cancelled the call or ended the stream.
 * The client already ignores cancellations that this adapter requested.
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof CancelledError ||
    error instanceof SubscriptionEnded ||
    grpcCode(error) === UNAVAILABLE
  );
}

/** Converts a client bigint, or throws when a number cannot hold it. */
export function toSafeNumber(name: string, value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new RangeError(
      `EventStoreDB returned ${name} ${String(value)}, which is beyond ` +
        'the safe integer range of JavaScript numbers',
    );
  }
  return number;
}

/** gRPC status codes, as @grpc/grpc-js numbers them. */
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/**
 * Returns a log position as a number, or undefined when it is missing, not
 * positive or unsafe. Servers send the largest uint64 for "no position",
 * and the port reserves 0 for "before the first event".
 */
function toPositionNumber(value: bigint | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

/** Reads the metadata that the client parsed from JSON. */
function toMetadata(metadata: unknown): EventMetadata {
  // NOTE: metadata that is binary or a JSON array or string cannot be an
  // EventMetadata object and reads as {}. Events appended through this
  // adapter always carry a JSON object.
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    Array.isArray(metadata) ||
    metadata instanceof Uint8Array
  ) {
    return {};
  }
  return metadata as EventMetadata;
}

/** Returns the numeric gRPC status code of an error, if it has one. */
function grpcCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) {
    return undefined;
  }
  return typeof error.code === 'number' ? error.code : undefined;
}
