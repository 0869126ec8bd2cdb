import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  openSqliteEventStore,
  type SqliteEventStore,
} from '../../eventstore/sqlite.ts';
import { eventStoreContract, type EventStoreFixture } from './contract.ts';

const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SQLITE_MODULE = new URL('../../eventstore/sqlite.ts', import.meta.url)
  .href;
const APPEND_CHILD = fileURLToPath(
  new URL('./append-child.ts', import.meta.url),
);

eventStoreContract('SQLite', () => Promise.resolve(sqliteFixture()));

describe('SQLite event store', () => {
  let fixture: EventStoreFixture & { path: string };
  let store: SqliteEventStore;

  beforeEach(() => {
    fixture = sqliteFixture();
    store = fixture.store as SqliteEventStore;
  });

  afterEach(async () => {
    await fixture.cleanup();
  });

  it('uses WAL and synchronous FULL', () => {
    const settings = store.connectionSettings();

    expect(settings.journalMode).toBe('wal');
    expect(settings.synchronous).toBe(2);
    expect(settings.busyTimeoutMs).toBe(10_000);
  });

  it('stores WAL in the file', () => {
    const other = new Database(fixture.path, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      other.close();
    }
  });

  it('numbers positions from 1 without gaps', async () => {
    await store.appendToStream('a', [event(), event()]);
    await store.appendToStream('b', [event()]);
    await store.appendToStream('a', [event()]);

    const positions = (await store.readAll()).map((e) => e.position);

    expect(positions).toEqual([1, 2, 3, 4]);
  });

  it('reports head 0 when empty', async () => {
    expect(await store.headPosition()).toBe(0);
  });

  it('follows appends from another connection', async () => {
    const writer = openSqliteEventStore({ path: fixture.path });
    const received: number[] = [];
    let caughtUp = false;
    const subscription = store.subscribeToAll().subscribe((message) => {
      if (message.kind === 'caughtUp') caughtUp = true;
      else received.push(message.event.position);
    });
    try {
      await until(() => caughtUp);

      await writer.appendToStream('a', [event(), event()]);
      await until(() => received.length === 2);

      expect(received).toEqual([1, 2]);
    } finally {
      subscription.unsubscribe();
      await writer.close();
    }
  });

  it('wakes on an in-process append', async () => {
    // With a poll interval this long, only the append's wake can deliver.
    const local = openSqliteEventStore({
      path: fixture.path,
      pollIntervalMs: 60_000,
    });
    const received: number[] = [];
    let caughtUp = false;
    const subscription = local.subscribeToAll().subscribe((message) => {
      if (message.kind === 'caughtUp') caughtUp = true;
      else received.push(message.event.position);
    });
    try {
      await until(() => caughtUp);

      await local.appendToStream('a', [event()]);
      await until(() => received.length === 1, 1_000);

      expect(received).toEqual([1]);
    } finally {
      subscription.unsubscribe();
      await local.close();
    }
  });

  it('delivers an append made in next', async () => {
    const local = openSqliteEventStore({
      path: fixture.path,
      pollIntervalMs: 60_000,
    });
    const received: number[] = [];
    const subscription = local.subscribeToAll().subscribe((message) => {
      // The append runs while the subscription is still delivering.
      if (message.kind === 'caughtUp')
        void local.appendToStream('a', [event()]);
      else received.push(message.event.position);
    });
    try {
      await until(() => received.length === 1, 1_000);

      expect(received).toEqual([1]);
    } finally {
      subscription.unsubscribe();
      await local.close();
    }
  });

  it('lets the process exit after close', () => {
    // A timer left behind by a subscription would keep this child running
    // until spawnSync kills it.
    const script = `
      import { openSqliteEventStore } from ${JSON.stringify(SQLITE_MODULE)};
      const store = openSqliteEventStore({ path: ':memory:' });
      store.subscribeToAll().subscribe(() => undefined);
      await store.appendToStream('a', [{ type: 'Tested', data: {} }]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await store.close();
    `;

    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 10_000 },
    );

    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });

  it('rejects a subscription after close', async () => {
    await store.close();
    let failure: unknown;

    store.subscribeToAll().subscribe({ error: (e: unknown) => (failure = e) });

    expect(failure).toBeInstanceOf(Error);
  });

  it('rejects an invalid expectedRevision', async () => {
    const attempt = store.appendToStream('a', [event()], {
      expectedRevision: -1,
    });

    await expect(attempt).rejects.toThrow(RangeError);
  });

  it('rejects an id that is not a UUID', async () => {
    const attempt = store.appendToStream('a', [{ ...event(), id: 'job-1' }]);

    await expect(attempt).rejects.toThrow(/Invalid event id "job-1"/);
  });

  it('rejects an empty stream id', async () => {
    await expect(store.appendToStream('', [event()])).rejects.toThrow(
      TypeError,
    );
  });

  it('returns -1 for an empty new stream', async () => {
    const result = await store.appendToStream('a', []);

    expect(result).toEqual({ nextExpectedRevision: -1, position: 0 });
  });

  it('treats an empty prefix list as none', async () => {
    await store.appendToStream('a', [event()]);

    const read = await store.readAll({ filter: { streamPrefixes: [] } });

    expect(read).toEqual([]);
  });

  it('matches prefixes literally', async () => {
    await store.appendToStream('job_1', [event()]);
    await store.appendToStream('jobX1', [event()]);
    await store.appendToStream('JOB_2', [event()]);

    const read = await store.readAll({ filter: { streamPrefixes: ['job_'] } });

    expect(read.map((e) => e.streamId)).toEqual(['job_1']);
  });

  it('opens in memory', async () => {
    const memory = openSqliteEventStore({ path: ':memory:' });
    try {
      await memory.appendToStream('a', [event()]);

      expect(await memory.readStream('a')).toHaveLength(1);
    } finally {
      await memory.close();
    }
  });
});

/** Opens a store on a fresh file in the OS temp folder. */
function sqliteFixture(): EventStoreFixture & { path: string } {
  const folder = mkdtempSync(join(tmpdir(), 'boringkit-eventstore-'));
  const path = join(folder, 'events.sqlite');
  // Short polls keep the cross-process tests fast.
  const open = () => openSqliteEventStore({ path, pollIntervalMs: 20 });
  let current = open();

  return {
    path,
    store: current,
    async reopen() {
      await current.close();
      current = open();
      return current;
    },
    appendFromProcesses: (streamId, count) =>
      appendFromProcesses(path, streamId, count),
    async cleanup() {
      await current.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `count` child processes on one file, releases them together once
 * all have opened the store, and counts who won the 'no_stream' append.
 */
async function appendFromProcesses(
  path: string,
  streamId: string,
  count: number,
): Promise<{ winners: number; losers: number }> {
  const children = Array.from({ length: count }, () =>
    startChild(path, streamId),
  );
  try {
    await Promise.all(children.map((child) => child.ready));
  } catch (error) {
    for (const child of children) child.process.kill();
    throw error;
  }
  for (const child of children) child.process.stdin.end('go\n');

  const outcomes = await Promise.all(children.map((child) => child.outcome));
  const winners = outcomes.filter((outcome) => outcome === 'won').length;
  return { winners, losers: outcomes.length - winners };
}

function startChild(path: string, streamId: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', APPEND_CHILD, path, streamId],
    { cwd: REPOSITORY_ROOT, stdio: 'pipe', timeout: 30_000 },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith('ready\n')) resolve();
    });
    exited.then(
      (code) =>
        reject(
          new Error(
            `Child exited with ${String(code)} before ready: ${stderr}`,
          ),
        ),
      reject,
    );
  });
  const outcome = exited.then((code) => {
    const result = stdout.split('\n')[1];
    if (code !== 0 || (result !== 'won' && result !== 'lost')) {
      throw new Error(
        `Append child failed with exit code ${String(code)}, ` +
          `output ${JSON.stringify(stdout)}: ${stderr}`,
      );
    }
    return result;
  });
  return { process: child, ready, outcome };
}

function event() {
  return { type: 'Tested', data: {} };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(
  condition: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${String(timeoutMs)} ms`);
    }
    await delay(5);
  }
}
