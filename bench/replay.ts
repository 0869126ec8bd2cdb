import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../eventstore/port.ts';
import { openSqliteEventStore } from '../eventstore/sqlite.ts';
import { openReadModelDatabase } from '../projections/database.ts';
import { rebuildReadModel } from '../projections/rebuild.ts';
import { EVENTS_PER_JOB, writeJobLog } from './job-log.ts';
import { median, perSecond, round, timeMs } from './stats.ts';

export interface ReplayOptions {
  /** The log gets at least this many events: whole jobs, rounded up. */
  targetEvents: number;
  workspaces: number;
  /** Rebuilds timed, each into a fresh read-model database. */
  rebuilds: number;
}

export interface ReplayResult {
  events: number;
  jobs: number;
  workspaces: number;
  eventsByType: Record<string, number>;
  buildLogMs: number;
  rebuildMs: number[];
  medianRebuildMs: number;
  eventsPerSecond: number;
}

/**
 * Writes a log of succeeded jobs with {@link writeJobLog}, then times
 * `rebuildReadModel` from it into fresh read-model databases.
 */
export async function benchmarkReplay(
  options: ReplayOptions,
): Promise<ReplayResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-bench-replay-'));
  const store = openSqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  try {
    const jobs = Math.ceil(
      (options.targetEvents - options.workspaces) / EVENTS_PER_JOB,
    );
    let eventsByType: Record<string, number> = {};
    const buildLogMs = await timeMs(async () => {
      eventsByType = await writeJobLog(store, jobs, options.workspaces);
    });
    const events = await store.headPosition();

    const rebuildMs: number[] = [];
    for (let rebuild = 0; rebuild < options.rebuilds; rebuild++) {
      const path = join(dataDir, `readmodel-${rebuild}.sqlite`);
      rebuildMs.push(await timeRebuild(store, path, events, jobs));
    }

    const medianRebuildMs = median(rebuildMs);
    return {
      events,
      jobs,
      workspaces: options.workspaces,
      eventsByType,
      buildLogMs: round(buildLogMs),
      rebuildMs: rebuildMs.map((ms) => round(ms)),
      medianRebuildMs: round(medianRebuildMs),
      eventsPerSecond: perSecond(events, medianRebuildMs),
    };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Times one rebuild and checks that it produced every job. */
async function timeRebuild(
  store: EventStore,
  path: string,
  events: number,
  jobs: number,
): Promise<number> {
  const db = openReadModelDatabase(path);
  try {
    let applied = 0;
    const ms = await timeMs(async () => {
      applied = await rebuildReadModel(store, db);
    });
    const row = db
      .prepare<[], { count: number }>(
        "SELECT count(*) AS count FROM jobs WHERE status = 'succeeded'",
      )
      .get();
    if (applied !== events || row?.count !== jobs) {
      throw new Error(
        `Rebuild applied ${applied} of ${events} events and produced ` +
          `${row?.count} of ${jobs} succeeded jobs.`,
      );
    }
    return ms;
  } finally {
    db.close();
  }
}
