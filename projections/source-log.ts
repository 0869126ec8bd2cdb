import type { EventStore } from '../eventstore/port.ts';
import { readCheckpoint } from './apply.ts';
import type { ReadModelDatabase } from './database.ts';

/** The read model was built from another event log than the one opened. */
export class ReadModelSourceMismatch extends Error {
  override readonly name = 'ReadModelSourceMismatch';
}

/**
 * Checks that the read model was built from `store`'s log, and records that
 * log's first event id in a read model that has none yet. A read model
 * applied up to a position the log has not reached, or built from a log
 * whose first event differs, would serve another log's jobs and balances.
 */
export async function checkSourceLog(
  store: EventStore,
  db: ReadModelDatabase,
  path: string,
): Promise<void> {
  const checkpoint = readCheckpoint(db);
  const [first] = await store.readAll({ maxCount: 1 });
  const recorded = db
    .prepare<[], { first_event_id: string }>(
      'SELECT first_event_id FROM source_log',
    )
    .get()?.first_event_id;
  const head = await store.headPosition();

  const fix =
    `Delete ${path} to rebuild it from this log, or set ` +
    'BORINGKIT_READ_MODEL_PATH to the read model of this log.';
  if (recorded !== undefined && recorded !== first?.id) {
    throw new ReadModelSourceMismatch(
      `The read model ${path} was built from another event log: its first ` +
        `event is ${recorded}, this log's is ${first?.id ?? 'missing'}. ${fix}`,
    );
  }
  if (checkpoint > head) {
    throw new ReadModelSourceMismatch(
      `The read model ${path} has applied the log up to position ` +
        `${checkpoint}, but this log ends at ${head}. ${fix}`,
    );
  }
  if (recorded === undefined && first !== undefined) {
    db.prepare('INSERT INTO source_log (first_event_id) VALUES (?)').run(
      first.id,
    );
  }
}
