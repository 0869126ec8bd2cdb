import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventToAppend } from '../eventstore/port.ts';
import {
  openSqliteEventStore,
  type SqliteConnectionSettings,
  type SqliteEventStore,
} from '../eventstore/sqlite.ts';
import { perSecond, round, timeMs } from './stats.ts';

export interface AppendOptions {
  appends: number;
  eventsPerAppend: number;
  streams: number;
}

export interface AppendResult extends AppendOptions {
  events: number;
  elapsedMs: number;
  appendsPerSecond: number;
  eventsPerSecond: number;
}

export interface EventStoreResult {
  connection: SqliteConnectionSettings;
  single: AppendResult;
  batched: AppendResult;
}

const WARMUP_APPENDS = 20;

/**
 * Times `appendToStream` on a fresh SQLite event store for each case: one
 * event per append, then `batched.eventsPerAppend` events per append.
 * Appends go round-robin over the streams, each with the exact expected
 * revision, and each commits as its own transaction.
 */
export async function benchmarkEventStore(
  single: AppendOptions,
  batched: AppendOptions,
): Promise<EventStoreResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-bench-appends-'));
  try {
    const singleStore = openStore(dataDir, 'single');
    const connection = singleStore.connectionSettings();
    const singleResult = await measureAppends(singleStore, single);
    await singleStore.close();

    const batchedStore = openStore(dataDir, 'batched');
    const batchedResult = await measureAppends(batchedStore, batched);
    await batchedStore.close();

    return { connection, single: singleResult, batched: batchedResult };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function openStore(dataDir: string, name: string): SqliteEventStore {
  return openSqliteEventStore({ path: join(dataDir, `${name}.sqlite`) });
}

async function measureAppends(
  store: SqliteEventStore,
  options: AppendOptions,
): Promise<AppendResult> {
  const batch = Array.from({ length: options.eventsPerAppend }, progressEvent);
  // Creates the file's first pages before timing starts.
  for (let index = 0; index < WARMUP_APPENDS; index++) {
    await store.appendToStream('warmup', batch);
  }

  const revisions = new Map<string, number>();
  const elapsedMs = await timeMs(async () => {
    for (let index = 0; index < options.appends; index++) {
      const streamId = `job-bench-${index % options.streams}`;
      const revision = revisions.get(streamId);
      const result = await store.appendToStream(streamId, batch, {
        expectedRevision: revision ?? 'no_stream',
      });
      revisions.set(streamId, result.nextExpectedRevision);
    }
  });

  const events = options.appends * options.eventsPerAppend;
  return {
    ...options,
    events,
    elapsedMs: round(elapsedMs),
    appendsPerSecond: perSecond(options.appends, elapsedMs),
    eventsPerSecond: perSecond(events, elapsedMs),
  };
}

/** Builds a `JobProgressed` event as a worker appends it. */
function progressEvent(): EventToAppend {
  const now = Date.now();
  return {
    type: 'JobProgressed',
    data: {
      at: new Date(now).toISOString(),
      attempt: 1,
      progress: 40,
      stage: 'processing',
      leaseExpiresAt: new Date(now + 30_000).toISOString(),
    },
    metadata: { schemaVersion: 1, actor: 'worker:bench-host-1234-0a1b2c3d' },
  };
}
