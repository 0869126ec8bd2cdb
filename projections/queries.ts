import type { JobState, JobStatus } from '../domain/job-state.ts';
import type { ReadModelDatabase } from './database.ts';

export interface LedgerEntry {
  jobId: string | null;
  kind: 'grant' | 'charge' | 'refund';
  amount: number;
  at: string;
}

/** Read-only queries over the read model. */
export function createReadModelQueries(db: ReadModelDatabase) {
  const selectJob = db.prepare<[string], { state: string }>(
    'SELECT state FROM jobs WHERE id = ?',
  );
  const selectBalance = db.prepare<[string], { balance: number }>(
    'SELECT balance FROM balances WHERE workspace_id = ?',
  );
  const selectOriginExpiry = db.prepare<[string], { expiresAt: string }>(
    'SELECT expires_at AS expiresAt FROM widget_token_origins WHERE origin = ?',
  );
  const selectLedger = db.prepare<[string], LedgerEntry>(
    `SELECT job_id AS jobId, kind, amount, at FROM ledger
     WHERE workspace_id = ? ORDER BY position`,
  );

  return {
    getJob(jobId: string): JobState | undefined {
      const row = selectJob.get(jobId);
      return row ? (JSON.parse(row.state) as JobState) : undefined;
    },

    /** Open jobs of a workspace, newest first, after the cursor's job id. */
    listJobs(query: {
      workspaceId: string;
      status?: JobStatus;
      limit: number;
      before?: string;
    }): JobState[] {
      const conditions = ['workspace_id = ?', 'closed = 0'];
      const parameters: (string | number)[] = [query.workspaceId];
      if (query.status) {
        conditions.push('status = ?');
        parameters.push(query.status);
      }
      if (query.before) {
        conditions.push('id < ?');
        parameters.push(query.before);
      }
      const rows = db
        .prepare<(string | number)[], { state: string }>(
          `SELECT state FROM jobs WHERE ${conditions.join(' AND ')}
           ORDER BY id DESC LIMIT ?`,
        )
        .all(...parameters, query.limit);
      return rows.map((row) => JSON.parse(row.state) as JobState);
    },

    balance(workspaceId: string): number | undefined {
      return selectBalance.get(workspaceId)?.balance;
    },

    ledger(workspaceId: string): LedgerEntry[] {
      return selectLedger.all(workspaceId);
    },

    /**
     * Returns the latest expiry among the widget tokens that allow
     * `origin`, or undefined when no token ever allowed it.
     */
    originAllowedUntil(origin: string): string | undefined {
      return selectOriginExpiry.get(origin)?.expiresAt;
    },
  };
}
