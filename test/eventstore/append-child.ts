/**
 * Child process for the cross-process append race. Usage:
 * `node --import tsx append-child.ts DB_PATH STREAM_ID`. Opens the store,
 * prints `ready`, waits for a line on stdin, appends one event with
 * expectedRevision 'no_stream' and prints `won` or `lost`. Any other failure
 * exits with status 1.
 */
import { once } from 'node:events';

import { WrongExpectedVersion } from '../../eventstore/errors.ts';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';

const [path, streamId] = process.argv.slice(2);
if (path === undefined || streamId === undefined) {
  console.error('Usage: append-child.ts DB_PATH STREAM_ID');
  process.exit(2);
}

const store = openSqliteEventStore({ path });
try {
  process.stdout.write('ready\n');
  // The parent writes to every child's stdin at once, once all are ready,
  // so the appends start as close together as process scheduling allows.
  await once(process.stdin, 'data');
  process.stdin.pause();

  const outcome = await store
    .appendToStream(
      streamId,
      [{ type: 'RaceWon', data: { pid: process.pid } }],
      { expectedRevision: 'no_stream' },
    )
    .then(
      () => 'won',
      (error: unknown) => {
        if (error instanceof WrongExpectedVersion) return 'lost';
        throw error;
      },
    );
  process.stdout.write(`${outcome}\n`);
} finally {
  await store.close();
}
