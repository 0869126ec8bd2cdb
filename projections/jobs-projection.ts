import type { DomainEvent } from '../domain/events.ts';
import { evolve, type JobState } from '../domain/job-state.ts';
import type { ReadModelDatabase } from './database.ts';

/** Applies job events to the `jobs` table; runs inside a batch transaction. */
export function createJobsProjection(db: ReadModelDatabase) {
  const select = db.prepare<[string], { state: string }>(
    'SELECT state FROM jobs WHERE id = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO jobs (id, workspace_id, status, closed, position, state)
     VALUES (@id, @workspaceId, @status, @closed, @position, @state)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status,
       closed = excluded.closed, position = excluded.position,
       state = excluded.state`,
  );

  return (jobId: string, event: DomainEvent, position: number): boolean => {
    const row = select.get(jobId);
    const before = row ? (JSON.parse(row.state) as JobState) : undefined;
    const after = evolve(before, event);
    if (!after || after === before) return false;

    upsert.run({
      id: after.id,
      workspaceId: after.workspaceId,
      status: after.status,
      closed: after.closedAt ? 1 : 0,
      position,
      state: JSON.stringify(after),
    });
    return true;
  };
}
