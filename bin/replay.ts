import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readCheckpoint } from '../projections/apply.ts';
import { openReadModelDatabase } from '../projections/database.ts';
import { compareReadModels, rebuildReadModel } from '../projections/rebuild.ts';
import type { StoreSettings } from './config.ts';
import { readModelLockPath, readModelOwner } from './read-model-lock.ts';
import { openEventStore } from './stores.ts';

/**
 * Rebuilds the read model from the log and replaces the live database. With
 * `verify`, it rebuilds into a scratch database up to the live checkpoint
 * instead, and prints every difference with the live tables.
 */
export async function replay(
  stores: Pick<StoreSettings, 'eventStore' | 'readModelPath'>,
  verify: boolean,
): Promise<number> {
  const livePath = stores.readModelPath;
  const owner = readModelOwner(readModelLockPath(livePath));
  if (!verify && owner !== undefined) {
    console.error(
      `replay: the API (process ${owner}) is using the read model; stop it ` +
        'first, or run replay --verify, which leaves the live model alone',
    );
    return 1;
  }

  const store = openEventStore(stores.eventStore);
  const scratchPath = join(
    dirname(livePath),
    `readmodel.rebuild-${process.pid}.sqlite`,
  );
  const scratch = openReadModelDatabase(scratchPath);

  try {
    const started = performance.now();
    if (!verify) {
      // Opening the live file first rejects one that contains an event log.
      if (existsSync(livePath)) openReadModelDatabase(livePath).close();
      const applied = await rebuildReadModel(store, scratch);
      scratch.close();
      for (const suffix of ['', '-wal', '-shm'])
        rmSync(livePath + suffix, { force: true });
      renameSync(scratchPath, livePath);
      console.log(
        `replay: rebuilt the read model from ${applied} events in ${Math.round(performance.now() - started)} ms`,
      );
      return 0;
    }

    if (!existsSync(livePath)) {
      console.error(
        `replay: no live read model at ${livePath}; nothing to verify`,
      );
      return 1;
    }
    const live = openReadModelDatabase(livePath);
    // A read transaction held across the rebuild pins one snapshot of the
    // live tables, so a running service's progress shows no differences.
    live.exec('BEGIN');
    const checkpoint = readCheckpoint(live);
    const applied = await rebuildReadModel(store, scratch, checkpoint);
    const found = compareReadModels(live, scratch);
    live.exec('COMMIT');
    live.close();

    console.log(
      `replay: replayed ${applied} events up to position ${checkpoint} in ${Math.round(performance.now() - started)} ms`,
    );
    for (const difference of found) {
      console.log(
        `difference in ${difference.table} ${difference.key}:\n  live:    ${difference.live ?? '(missing)'}\n  rebuilt: ${difference.rebuilt ?? '(missing)'}`,
      );
    }
    const head = await store.headPosition();
    if (head > checkpoint) {
      console.log(
        `replay: the live read model has applied the log up to position ` +
          `${checkpoint} of ${head}; the API applies the rest when it runs`,
      );
    }
    console.log(
      found.length === 0
        ? `replay: the live read model matches the log up to position ${checkpoint}`
        : `replay: ${found.length} differences`,
    );
    return found.length === 0 ? 0 : 1;
  } finally {
    if (scratch.open) scratch.close();
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(scratchPath + suffix, { force: true });
    await store.close();
  }
}
