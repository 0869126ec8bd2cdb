import type { EventStore } from '../eventstore/port.ts';
import { createBatchApplier, readCheckpoint } from './apply.ts';
import type { ReadModelDatabase } from './database.ts';

const REPLAY_BATCH = 1_000;

/**
 * Replays the log into an empty read-model database, up to and including
 * `toPosition` (the whole log when omitted). Returns the events applied.
 */
export async function rebuildReadModel(
  store: EventStore,
  db: ReadModelDatabase,
  toPosition = Number.MAX_SAFE_INTEGER,
): Promise<number> {
  const applyBatch = createBatchApplier(db);
  let position = readCheckpoint(db);
  let applied = 0;

  for (;;) {
    const events = (
      await store.readAll({ fromPosition: position, maxCount: REPLAY_BATCH })
    ).filter((event) => event.position <= toPosition);
    if (events.length === 0) return applied;

    position = applyBatch(events).position;
    applied += events.length;
  }
}

export interface ReadModelDifference {
  table:
    'jobs' | 'ledger' | 'balances' | 'widget_token_origins' | 'checkpoints';
  key: string;
  live: string | undefined;
  rebuilt: string | undefined;
}

const COMPARED_TABLES = {
  jobs: 'SELECT id AS key, workspace_id, status, closed, position, state FROM jobs',
  ledger:
    'SELECT position AS key, workspace_id, job_id, kind, amount, at FROM ledger',
  balances: 'SELECT workspace_id AS key, balance FROM balances',
  widget_token_origins:
    'SELECT origin AS key, expires_at FROM widget_token_origins',
  checkpoints: 'SELECT name AS key, position FROM checkpoints',
} as const;

function rowsByKey(db: ReadModelDatabase, sql: string): Map<string, string> {
  const rows = db.prepare<[], { key: string | number }>(sql).all();
  return new Map(rows.map((row) => [String(row.key), JSON.stringify(row)]));
}

/** Lists every row that differs between two read models. */
export function compareReadModels(
  live: ReadModelDatabase,
  rebuilt: ReadModelDatabase,
): ReadModelDifference[] {
  const differences: ReadModelDifference[] = [];

  for (const [table, sql] of Object.entries(COMPARED_TABLES)) {
    const liveRows = rowsByKey(live, sql);
    const rebuiltRows = rowsByKey(rebuilt, sql);
    const keys = new Set([...liveRows.keys(), ...rebuiltRows.keys()]);
    for (const key of keys) {
      const liveRow = liveRows.get(key);
      const rebuiltRow = rebuiltRows.get(key);
      if (liveRow !== rebuiltRow) {
        differences.push({
          table: table as ReadModelDifference['table'],
          key,
          live: liveRow,
          rebuilt: rebuiltRow,
        });
      }
    }
  }
  return differences;
}
