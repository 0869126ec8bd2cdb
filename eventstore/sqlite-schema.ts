import type { RecordedEvent } from './port.ts';

/** A row of the `events` table, with the column names SQLite returns. */
export interface EventRow {
  position: number;
  id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  created_at: number;
}

// AUTOINCREMENT keeps a position from ever being reused, even if the last
// rows were deleted by hand, because projections checkpoint on positions.
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (stream_id, revision)
  ) STRICT
`;

/**
 * Builds the query for events with `? < position <= ?` that pass a filter
 * with lists of these lengths. Its parameters are the two bounds, the
 * prefixes, the event types and the LIMIT.
 */
export function readRangeSql(
  prefixes: readonly string[] | undefined,
  types: readonly string[] | undefined,
): string {
  const conditions = ['position > ?', 'position <= ?'];
  // An empty prefix list matches no event, because no stream id starts with
  // one of zero prefixes. Unlike LIKE, instr() has no wildcards and is
  // case-sensitive.
  if (prefixes !== undefined) {
    const anyPrefix = prefixes.map(() => 'instr(stream_id, ?) = 1');
    conditions.push(`(${anyPrefix.join(' OR ') || '0'})`);
  }
  if (types !== undefined) {
    conditions.push(`type IN (${types.map(() => '?').join(', ')})`);
  }
  return `SELECT * FROM events WHERE ${conditions.join(' AND ')}
          ORDER BY position ASC LIMIT ?`;
}

/** Parses a row's JSON columns into the port's event shape. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    data: JSON.parse(row.data) as unknown,
    metadata: JSON.parse(row.metadata) as RecordedEvent['metadata'],
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    createdAt: new Date(row.created_at),
  };
}
