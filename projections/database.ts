import Database from 'better-sqlite3';

export type ReadModelDatabase = Database.Database;

/** The file contains an event log, which a read model must never replace. */
export class NotAReadModel extends Error {
  override readonly name = 'NotAReadModel';
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    status TEXT NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL,
    state TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS jobs_by_workspace
    ON jobs (workspace_id, closed, id DESC);
  CREATE TABLE IF NOT EXISTS ledger (
    position INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    job_id TEXT,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ledger_by_workspace
    ON ledger (workspace_id, position);
  CREATE TABLE IF NOT EXISTS balances (
    workspace_id TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS widget_token_origins (
    origin TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS source_log (
    first_event_id TEXT NOT NULL
  );
`;

/**
 * Opens the read-model database (jobs, credit ledger, the origins of widget
 * tokens, checkpoints) and
 * creates its tables. Each API process owns one; it is rebuilt from the log.
 */
export function openReadModelDatabase(path: string): ReadModelDatabase {
  const db = new Database(path);
  // Checked before anything is written, so that a path that reaches the
  // event log by another name never gets read-model tables or a rebuild.
  const isEventLog = db
    .prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'",
    )
    .get();
  if (isEventLog) {
    db.close();
    throw new NotAReadModel(
      `${path} is an event log, not a read model. Give the read model a ` +
        'file of its own.',
    );
  }
  db.pragma('journal_mode = WAL');
  // The read model can always be rebuilt from the log, so a lost tail after
  // a power cut costs a replay, not data.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec(SCHEMA);
  return db;
}
