import { randomUUID } from 'node:crypto';

import type { EventToAppend, ExpectedRevision } from './port.ts';

// Checks of arguments to the event-store port that every adapter shares.

const UUID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Applies EventStoreDB's expected-revision rules to a stream's state. */
export function matchesExpectedRevision(
  expected: ExpectedRevision,
  actual: number | 'no_stream',
): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 'no_stream';
    case 'stream_exists':
      return actual !== 'no_stream';
    default:
      return actual === expected;
  }
}

/**
 * Checks the caller's event id and lower-cases it, because UUIDs compare
 * case-insensitively. Generates a random UUID when the id is missing.
 */
export function eventId(event: EventToAppend): string {
  if (event.id === undefined) return randomUUID();
  if (!UUID_PATTERN.test(event.id)) {
    throw new TypeError(
      `Invalid event id ${JSON.stringify(event.id)}: expected a UUID ` +
        'such as crypto.randomUUID() returns, or no id',
    );
  }
  return event.id.toLowerCase();
}

/** Serialises event data or metadata, or throws when JSON cannot hold it. */
export function toJson(field: string, value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(
      `Invalid event ${field}: ${typeof value} cannot be stored as JSON`,
    );
  }
  return json;
}

/** Throws unless the event type is a non-empty string, and returns it. */
export function requireEventType(type: string): string {
  if (typeof type !== 'string' || type === '') {
    throw new TypeError('Invalid event type: expected a non-empty string');
  }
  return type;
}

/** Throws unless the stream id is a non-empty string. */
export function requireStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId === '') {
    throw new TypeError('Invalid stream id: expected a non-empty string');
  }
}

/** Throws a RangeError for a value that is not an ExpectedRevision. */
export function requireExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number') {
    requireNonNegativeInteger('expectedRevision', expected);
  } else if (!['any', 'no_stream', 'stream_exists'].includes(expected)) {
    throw new RangeError(
      `Invalid expectedRevision ${JSON.stringify(expected)}: expected ` +
        "'any', 'no_stream', 'stream_exists' or a revision number",
    );
  }
}

/** Checks an optional count or position and returns it unchanged. */
export function optionalCount(
  name: string,
  value: number | undefined,
): number | undefined {
  if (value !== undefined) requireNonNegativeInteger(name, value);
  return value;
}

/** Throws a RangeError unless `value` is a safe integer >= 0. */
export function requireNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Invalid ${name} ${String(value)}: expected an integer >= 0`,
    );
  }
}

/** Throws a RangeError unless `value` is a safe integer >= 1. */
export function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Invalid ${name} ${String(value)}: expected an integer >= 1`,
    );
  }
}
