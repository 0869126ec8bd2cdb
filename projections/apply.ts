import { parseStoredEvent } from '../domain/job-model.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { createCreditsProjection } from './credits-projection.ts';
import type { ReadModelDatabase } from './database.ts';
import { createJobsProjection } from './jobs-projection.ts';
import { createWidgetTokenOriginsProjection } from './widget-token-origins-projection.ts';

export const CHECKPOINT_NAME = 'read-model';

export interface BatchResult {
  changedJobIds: Set<string>;
  changedWorkspaceIds: Set<string>;
  position: number;
}

/**
 * Returns a function that applies a batch of recorded events to every
 * projection and moves the checkpoint, all in one transaction, so each event
 * is applied exactly once even across crashes.
 */
export function createBatchApplier(db: ReadModelDatabase) {
  const applyJob = createJobsProjection(db);
  const applyCredits = createCreditsProjection(db);
  const applyWidgetTokenOrigins = createWidgetTokenOriginsProjection(db);
  const saveCheckpoint = db.prepare(
    `INSERT INTO checkpoints (name, position) VALUES (?, ?)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
  );

  // The first batch of a new read model, whose checkpoint is 0, starts with
  // the log's first event, which then identifies the log (see source-log.ts).
  const recordSource = db.prepare(
    `INSERT INTO source_log (first_event_id)
     SELECT ? WHERE NOT EXISTS (SELECT 1 FROM source_log)`,
  );

  return db.transaction((events: readonly RecordedEvent[]): BatchResult => {
    const [first] = events;
    if (first && readCheckpoint(db) === 0) {
      recordSource.run(first.id);
    }
    const result: BatchResult = {
      changedJobIds: new Set(),
      changedWorkspaceIds: new Set(),
      position: 0,
    };

    for (const recorded of events) {
      result.position = recorded.position;
      const event = parseStoredEvent(recorded);
      if (!event) continue;

      if (recorded.streamId.startsWith('job-')) {
        const jobId = recorded.streamId.slice('job-'.length);
        if (applyJob(jobId, event, recorded.position)) {
          result.changedJobIds.add(jobId);
        }
      }
      const workspaceId = applyCredits(event, recorded.position);
      if (workspaceId) result.changedWorkspaceIds.add(workspaceId);
      applyWidgetTokenOrigins(event);
    }

    if (events.length > 0) saveCheckpoint.run(CHECKPOINT_NAME, result.position);
    return result;
  });
}

export function readCheckpoint(db: ReadModelDatabase): number {
  const row = db
    .prepare<[string], { position: number }>(
      'SELECT position FROM checkpoints WHERE name = ?',
    )
    .get(CHECKPOINT_NAME);
  return row?.position ?? 0;
}
