import type { DomainEvent } from '../domain/events.ts';
import type { ReadModelDatabase } from './database.ts';

const KINDS = {
  CreditsGranted: { kind: 'grant', sign: 1 },
  CreditsCharged: { kind: 'charge', sign: -1 },
  CreditsRefunded: { kind: 'refund', sign: 1 },
} as const;

/** Applies credit events to the ledger and balances; inside a batch. */
export function createCreditsProjection(db: ReadModelDatabase) {
  const insertEntry = db.prepare(
    `INSERT INTO ledger (position, workspace_id, job_id, kind, amount, at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const addToBalance = db.prepare(
    `INSERT INTO balances (workspace_id, balance) VALUES (?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET balance = balance + excluded.balance`,
  );

  return (event: DomainEvent, position: number): string | undefined => {
    if (
      event.type !== 'CreditsGranted' &&
      event.type !== 'CreditsCharged' &&
      event.type !== 'CreditsRefunded'
    ) {
      return undefined;
    }
    const { kind, sign } = KINDS[event.type];
    const { data } = event;
    const jobId = 'jobId' in data ? data.jobId : null;

    insertEntry.run(
      position,
      data.workspaceId,
      jobId,
      kind,
      data.amount,
      data.at,
    );
    addToBalance.run(data.workspaceId, sign * data.amount);
    return data.workspaceId;
  };
}
