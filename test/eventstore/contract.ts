import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { WrongExpectedVersion } from '../../eventstore/errors.ts';
import type {
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  SubscriptionMessage,
} from '../../eventstore/port.ts';
import {
  collect,
  delay,
  isStrictlyIncreasing,
  waitFor,
} from './subscription-helpers.ts';

/** One adapter's store on fresh storage, with the means to reopen it. */
export interface EventStoreFixture {
  store: EventStore;
  /** Closes the current store and opens a new one on the same storage. */
  reopen(): Promise<EventStore>;
  /**
   * Starts `count` OS processes that append one event each to `streamId`
   * with the same expected revision ('no_stream') at about the same time.
   */
  appendFromProcesses?(
    streamId: string,
    count: number,
  ): Promise<{ winners: number; losers: number }>;
  /** Closes whichever store is open and removes the storage. */
  cleanup(): Promise<void>;
  /**
   * Set when event ids are unique within a stream only, as in EventStoreDB,
   * which accepts an id that another stream already contains and ignores a
   * repeated append of the same ids to one stream. Unset: unique across the
   * log.
   */
  eventIdsUniquePerStream?: boolean;
}

/**
 * Defines the event-store contract suite for one adapter. Tests read only
 * their own streams (a random prefix per test) and positions after the head
 * they found, so the suite also runs against a shared server.
 */
export function eventStoreContract(
  name: string,
  factory: () => Promise<EventStoreFixture>,
): void {
  describe(`${name} event store`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;
    let prefix: string;
    const stream = (suffix: string) => `${prefix}-${suffix}`;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      prefix = `t${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('appendToStream', () => {
      it('any appends to new and existing streams', async () => {
        const first = await store.appendToStream(stream('a'), [event('A')], {
          expectedRevision: 'any',
        });
        const second = await store.appendToStream(stream('a'), [event('B')], {
          expectedRevision: 'any',
        });

        expect(first.nextExpectedRevision).toBe(0);
        expect(second.nextExpectedRevision).toBe(1);
      });

      it('defaults to any', async () => {
        await store.appendToStream(stream('a'), [event('A')]);
        const result = await store.appendToStream(stream('a'), [event('B')]);

        expect(result.nextExpectedRevision).toBe(1);
      });

      it('no_stream accepts a new stream', async () => {
        const result = await store.appendToStream(
          stream('a'),
          [event('A'), event('B')],
          { expectedRevision: 'no_stream' },
        );

        expect(result.nextExpectedRevision).toBe(1);
      });

      it('no_stream rejects an existing stream', async () => {
        await store.appendToStream(stream('a'), [event('A')]);

        const error = await appendError(store, stream('a'), 'no_stream');

        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect(error.streamId).toBe(stream('a'));
        expect(error.expected).toBe('no_stream');
        expect(error.actual).toBe(0);
      });

      it('stream_exists rejects a missing stream', async () => {
        const error = await appendError(store, stream('a'), 'stream_exists');

        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect(error.expected).toBe('stream_exists');
        expect(error.actual).toBe('no_stream');
      });

      it('stream_exists accepts an existing stream', async () => {
        await store.appendToStream(stream('a'), [event('A')]);

        const result = await store.appendToStream(stream('a'), [event('B')], {
          expectedRevision: 'stream_exists',
        });

        expect(result.nextExpectedRevision).toBe(1);
      });

      it('revision accepts the last revision', async () => {
        await store.appendToStream(stream('a'), [event('A'), event('B')]);

        const result = await store.appendToStream(stream('a'), [event('C')], {
          expectedRevision: 1,
        });

        expect(result.nextExpectedRevision).toBe(2);
      });

      it('revision rejects a stale revision', async () => {
        await store.appendToStream(stream('a'), [event('A'), event('B')]);

        const error = await appendError(store, stream('a'), 0);

        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect(error.streamId).toBe(stream('a'));
        expect(error.expected).toBe(0);
        expect(error.actual).toBe(1);
      });

      it('revision rejects a missing stream', async () => {
        const error = await appendError(store, stream('a'), 0);

        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect(error.actual).toBe('no_stream');
      });

      it('rejected append writes nothing', async () => {
        await store.appendToStream(stream('a'), [event('A')]);

        await appendError(store, stream('a'), 'no_stream');

        expect(await store.readStream(stream('a'))).toHaveLength(1);
      });

      it('empty append checks expectation', async () => {
        await store.appendToStream(stream('a'), [event('A')]);

        const missing = await appendError(
          store,
          stream('b'),
          'stream_exists',
          [],
        );
        const stale = await appendError(store, stream('a'), 5, []);

        expect(missing).toBeInstanceOf(WrongExpectedVersion);
        expect(stale).toBeInstanceOf(WrongExpectedVersion);
      });

      it('empty append creates no stream', async () => {
        await store.appendToStream(stream('a'), [], {
          expectedRevision: 'no_stream',
        });

        expect(await store.readStream(stream('a'))).toEqual([]);
      });

      it('result is the last event', async () => {
        await store.appendToStream(stream('b'), [event('X')]);

        const result = await store.appendToStream(
          stream('a'),
          [event('A'), event('B'), event('C')],
          { expectedRevision: 'no_stream' },
        );

        const last = (await store.readStream(stream('a'))).at(-1);
        expect(result.nextExpectedRevision).toBe(last?.revision);
        expect(result.position).toBe(last?.position);
      });

      it('in-process race has one winner', async () => {
        const attempts = Array.from({ length: 10 }, (_, i) =>
          store.appendToStream(stream('race'), [event(`E${String(i)}`)], {
            expectedRevision: 'no_stream',
          }),
        );

        const outcomes = await Promise.allSettled(attempts);

        const rejected = outcomes.filter((o) => o.status === 'rejected');
        expect(outcomes.length - rejected.length).toBe(1);
        expect(rejected).toHaveLength(9);
        for (const outcome of rejected) {
          expect(outcome.reason).toBeInstanceOf(WrongExpectedVersion);
        }
        expect(await store.readStream(stream('race'))).toHaveLength(1);
      });

      it('in-process race on revision', async () => {
        await store.appendToStream(stream('race'), [event('A')]);
        const attempts = Array.from({ length: 10 }, () =>
          store.appendToStream(stream('race'), [event('B')], {
            expectedRevision: 0,
          }),
        );

        const outcomes = await Promise.allSettled(attempts);

        const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
        expect(fulfilled).toHaveLength(1);
        expect(await store.readStream(stream('race'))).toHaveLength(2);
      });

      it('process race has one winner', async (context) => {
        if (fixture.appendFromProcesses === undefined) {
          context.skip('this adapter cannot append from other processes');
          return;
        }

        const outcome = await fixture.appendFromProcesses(stream('race'), 8);

        expect(outcome.winners).toBe(1);
        expect(outcome.losers).toBe(7);
        expect(await store.readStream(stream('race'))).toHaveLength(1);
      });
    });

    describe('recorded event', () => {
      it('round-trips data and metadata', async () => {
        const data = { pages: [1, 2], title: 'Zoë', nested: { ok: true } };
        const metadata = {
          correlationId: 'corr-1',
          causationId: 'cause-1',
          actor: 'user:42',
          requestId: 'req-7',
          schemaVersion: 2,
        };

        await store.appendToStream(stream('a'), [
          { type: 'JobCreated', data, metadata },
        ]);

        const [recorded] = await store.readStream(stream('a'));
        expect(recorded?.type).toBe('JobCreated');
        expect(recorded?.data).toEqual(data);
        expect(recorded?.metadata).toEqual(metadata);
        expect(recorded?.streamId).toBe(stream('a'));
      });

      it('defaults metadata to empty', async () => {
        await store.appendToStream(stream('a'), [event('A')]);

        const [recorded] = await store.readStream(stream('a'));
        expect(recorded?.metadata).toEqual({});
      });

      it('records createdAt', async () => {
        const before = Date.now();
        await store.appendToStream(stream('a'), [event('A')]);
        const after = Date.now();

        const [recorded] = await store.readStream(stream('a'));
        expect(recorded?.createdAt).toBeInstanceOf(Date);
        expect(recorded?.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(recorded?.createdAt.getTime()).toBeLessThanOrEqual(after);
      });

      it('keeps a given id', async () => {
        const id = randomUUID();

        await store.appendToStream(stream('a'), [{ ...event('A'), id }]);

        const [recorded] = await store.readStream(stream('a'));
        expect(recorded?.id).toBe(id);
      });

      it('generates unique UUIDs', async () => {
        await store.appendToStream(stream('a'), events(50));

        const ids = (await store.readStream(stream('a'))).map((e) => e.id);
        expect(new Set(ids).size).toBe(50);
        for (const id of ids) {
          expect(id).toMatch(UUID);
        }
      });

      it('rejects a duplicate id', async (context) => {
        if (fixture.eventIdsUniquePerStream === true) {
          context.skip('this adapter keeps event ids unique per stream only');
          return;
        }
        const id = randomUUID();
        await store.appendToStream(stream('a'), [{ ...event('A'), id }]);

        const attempt = store.appendToStream(stream('b'), [
          event('B'),
          { ...event('C'), id },
        ]);

        await expect(attempt).rejects.toThrow();
        expect(await store.readStream(stream('b'))).toEqual([]);
      });

      it('accepts an id from another stream', async (context) => {
        if (fixture.eventIdsUniquePerStream !== true) {
          context.skip('this adapter keeps event ids unique across the log');
          return;
        }
        const id = randomUUID();
        await store.appendToStream(stream('a'), [{ ...event('A'), id }]);

        await store.appendToStream(stream('b'), [
          event('B'),
          { ...event('C'), id },
        ]);

        const read = await store.readStream(stream('b'));
        expect(read).toHaveLength(2);
        expect(read[1]?.id).toBe(id);
      });

      it('rejects a duplicate id in a batch', async () => {
        const id = randomUUID();

        const attempt = store.appendToStream(stream('a'), [
          { ...event('A'), id },
          { ...event('B'), id },
        ]);

        await expect(attempt).rejects.toThrow();
        expect(await store.readStream(stream('a'))).toEqual([]);
      });
    });

    describe('readStream', () => {
      beforeEach(async () => {
        await store.appendToStream(stream('a'), events(3, 'A'));
        await store.appendToStream(stream('b'), events(2, 'B'));
        await store.appendToStream(stream('a'), events(2, 'A', 3));
      });

      it('reads forwards by default', async () => {
        const read = await store.readStream(stream('a'));

        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
        expect(read.map((e) => e.type)).toEqual(['A0', 'A1', 'A2', 'A3', 'A4']);
      });

      it('reads only its stream', async () => {
        const read = await store.readStream(stream('b'));

        expect(read.map((e) => e.streamId)).toEqual([stream('b'), stream('b')]);
      });

      it('reads backwards from the end', async () => {
        const read = await store.readStream(stream('a'), {
          direction: 'backwards',
        });

        expect(read.map((e) => e.revision)).toEqual([4, 3, 2, 1, 0]);
      });

      it('reads forwards from revision', async () => {
        const read = await store.readStream(stream('a'), { fromRevision: 2 });

        expect(read.map((e) => e.revision)).toEqual([2, 3, 4]);
      });

      it('reads backwards from revision', async () => {
        const read = await store.readStream(stream('a'), {
          fromRevision: 2,
          direction: 'backwards',
        });

        expect(read.map((e) => e.revision)).toEqual([2, 1, 0]);
      });

      it('limits forwards to maxCount', async () => {
        const read = await store.readStream(stream('a'), { maxCount: 2 });

        expect(read.map((e) => e.revision)).toEqual([0, 1]);
      });

      it('limits backwards to maxCount', async () => {
        const read = await store.readStream(stream('a'), {
          direction: 'backwards',
          maxCount: 2,
        });

        expect(read.map((e) => e.revision)).toEqual([4, 3]);
      });

      it('reads a missing stream as empty', async () => {
        expect(await store.readStream(stream('missing'))).toEqual([]);
      });

      it('reads past the end as empty', async () => {
        const read = await store.readStream(stream('a'), { fromRevision: 9 });

        expect(read).toEqual([]);
      });
    });

    describe('readAll', () => {
      let start: number;
      let appended: RecordedEvent[];

      beforeEach(async () => {
        start = await store.headPosition();
        await store.appendToStream(stream('job-1'), events(2, 'Created'));
        await store.appendToStream(stream('credit-1'), events(1, 'Charged'));
        await store.appendToStream(stream('job-2'), events(2, 'Created'));
        await store.appendToStream(stream('job-1'), events(1, 'Done', 2));
        appended = await readOwn(store, prefix, start);
      });

      it('reads in append order', async () => {
        expect(
          appended.map((e) => `${e.streamId}/${String(e.revision)}`),
        ).toEqual([
          `${stream('job-1')}/0`,
          `${stream('job-1')}/1`,
          `${stream('credit-1')}/0`,
          `${stream('job-2')}/0`,
          `${stream('job-2')}/1`,
          `${stream('job-1')}/2`,
        ]);
      });

      it('positions increase across streams', async () => {
        const positions = appended.map((e) => e.position);

        expect(positions[0]).toBeGreaterThan(start);
        expect(isStrictlyIncreasing(positions)).toBe(true);
      });

      it('positions match readStream', async () => {
        const job1 = await store.readStream(stream('job-1'));
        const fromAll = appended.filter((e) => e.streamId === stream('job-1'));

        expect(job1.map((e) => e.position)).toEqual(
          fromAll.map((e) => e.position),
        );
      });

      it('headPosition is last position', async () => {
        expect(await store.headPosition()).toBe(appended.at(-1)?.position);
      });

      it('fromPosition is exclusive', async () => {
        const third = appended[2]?.position ?? Number.NaN;

        const read = await readOwn(store, prefix, third);

        expect(read.map((e) => e.position)).toEqual(
          appended.slice(3).map((e) => e.position),
        );
      });

      it('limits to maxCount', async () => {
        const read = await store.readAll({
          fromPosition: start,
          filter: { streamPrefixes: [prefix] },
          maxCount: 2,
        });

        expect(read.map((e) => e.id)).toEqual(
          appended.slice(0, 2).map((e) => e.id),
        );
      });

      it('filters by stream prefixes', async () => {
        const read = await store.readAll({
          fromPosition: start,
          filter: { streamPrefixes: [stream('job-2'), stream('credit-')] },
        });

        expect(read.map((e) => e.streamId)).toEqual([
          stream('credit-1'),
          stream('job-2'),
          stream('job-2'),
        ]);
      });

      it('filters by event types', async () => {
        const read = await store.readAll({
          fromPosition: start,
          filter: { eventTypes: ['Charged0', 'Done2'] },
        });

        // A shared server may hold other tests' events of the same types.
        const own = read.filter((e) => e.streamId.startsWith(prefix));
        expect(own.map((e) => e.type)).toEqual(['Charged0', 'Done2']);
      });

      it('combines filters', async () => {
        const read = await store.readAll({
          fromPosition: start,
          filter: {
            streamPrefixes: [stream('job-')],
            eventTypes: ['Created1'],
          },
        });

        expect(read.map((e) => e.streamId)).toEqual([
          stream('job-1'),
          stream('job-2'),
        ]);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up, then goes live', async () => {
        const start = await store.headPosition();
        for (let i = 0; i < 10; i += 1) {
          const target = stream(i % 2 === 0 ? 'even' : 'odd');
          await store.appendToStream(target, events(100, 'Old'));
        }
        const existing = await readOwn(store, prefix, start);
        const lastExisting = existing.at(-1)?.position ?? Number.NaN;

        const feed = collect(
          store.subscribeToAll({
            fromPosition: start,
            filter: { streamPrefixes: [prefix] },
          }),
        );
        // Appends interleave with the catch-up reads and continue live.
        let appendsBeforeCaughtUp = 0;
        for (let i = 0; i < 200; i += 1) {
          await store.appendToStream(stream('live'), [
            event(`New${String(i)}`),
          ]);
          if (feed.caughtUpIndex() === -1) appendsBeforeCaughtUp += 1;
          await nextTurn();
        }
        const all = await readOwn(store, prefix, start);
        await feed.waitForEvents(1200);
        feed.subscription.unsubscribe();

        const delivered = feed.events();
        const marker = feed.caughtUp();
        const markerIndex = feed.caughtUpIndex();
        expect(existing).toHaveLength(1000);
        expect(all).toHaveLength(1200);
        expect(appendsBeforeCaughtUp).toBeGreaterThan(0);
        expect(delivered.map((e) => e.position)).toEqual(
          all.map((e) => e.position),
        );
        expect(new Set(delivered.map((e) => e.id)).size).toBe(1200);
        expect(marker).toHaveLength(1);
        expect(marker[0]?.position).toBeGreaterThanOrEqual(lastExisting);
        expect(markerIndex).toBeGreaterThanOrEqual(1000);
        const beforeMarker = positionsOf(feed.messages.slice(0, markerIndex));
        const afterMarker = positionsOf(feed.messages.slice(markerIndex + 1));
        expect(Math.max(...beforeMarker)).toBeLessThanOrEqual(
          marker[0]?.position ?? Number.NaN,
        );
        expect(Math.min(...afterMarker)).toBeGreaterThan(
          marker[0]?.position ?? Number.NaN,
        );
      });

      it('marks caughtUp on an empty range', async () => {
        const head = await store.headPosition();

        const feed = collect(store.subscribeToAll({ fromPosition: head }));
        await feed.waitForCaughtUp();
        feed.subscription.unsubscribe();

        expect(feed.messages).toEqual([{ kind: 'caughtUp', position: head }]);
      });

      it('starts after fromPosition', async () => {
        await store.appendToStream(stream('a'), events(5));
        const appended = await store.readStream(stream('a'));
        const from = appended[1]?.position ?? Number.NaN;

        const feed = collect(
          store.subscribeToAll({
            fromPosition: from,
            filter: { streamPrefixes: [prefix] },
          }),
        );
        await feed.waitForCaughtUp();
        feed.subscription.unsubscribe();

        expect(feed.events().map((e) => e.revision)).toEqual([2, 3, 4]);
      });

      it('filters catch-up and live', async () => {
        const start = await store.headPosition();
        await store.appendToStream(stream('a'), [event('Keep'), event('Drop')]);
        const feed = collect(
          store.subscribeToAll({
            fromPosition: start,
            filter: { streamPrefixes: [prefix], eventTypes: ['Keep'] },
          }),
        );
        await feed.waitForCaughtUp();

        await store.appendToStream(stream('b'), [event('Drop'), event('Keep')]);
        await store.appendToStream(`other-${prefix}`, [event('Keep')]);
        await feed.waitForEvents(2);
        await delay(150);
        feed.subscription.unsubscribe();

        expect(feed.events().map((e) => e.streamId)).toEqual([
          stream('a'),
          stream('b'),
        ]);
      });

      it('delivers asynchronously', async () => {
        const start = await store.headPosition();
        await store.appendToStream(stream('a'), events(3));

        const feed = collect(store.subscribeToAll({ fromPosition: start }));
        const deliveredDuringSubscribe = feed.messages.length;
        await feed.waitForCaughtUp();
        feed.subscription.unsubscribe();

        expect(deliveredDuringSubscribe).toBe(0);
      });

      it('stops after unsubscribe', async () => {
        const feed = collect(
          store.subscribeToAll({
            fromPosition: await store.headPosition(),
            filter: { streamPrefixes: [prefix] },
          }),
        );
        await feed.waitForCaughtUp();

        feed.subscription.unsubscribe();
        await store.appendToStream(stream('a'), [event('A')]);
        await delay(300);

        expect(feed.events()).toEqual([]);
      });

      it('completes when the store closes', async () => {
        const head = await store.headPosition();
        const feed = collect(store.subscribeToAll({ fromPosition: head }));
        await feed.waitForCaughtUp();

        store = await fixture.reopen();
        await waitFor('completion', () => feed.isCompleted());

        expect(feed.isCompleted()).toBe(true);
        expect(feed.error()).toBeUndefined();
      });
    });

    describe('reopen', () => {
      it('keeps every event', async () => {
        const start = await store.headPosition();
        await store.appendToStream(stream('a'), events(3), {
          expectedRevision: 'no_stream',
        });
        await store.appendToStream(stream('b'), events(2));
        const before = await readOwn(store, prefix, start);

        store = await fixture.reopen();

        expect(await readOwn(store, prefix, start)).toEqual(before);
      });

      it('continues positions and revisions', async () => {
        await store.appendToStream(stream('a'), events(3));
        const head = await store.headPosition();

        store = await fixture.reopen();
        const result = await store.appendToStream(stream('a'), [event('X')], {
          expectedRevision: 2,
        });

        expect(result.nextExpectedRevision).toBe(3);
        expect(result.position).toBeGreaterThan(head);
        expect(await store.headPosition()).toBe(result.position);
      });
    });
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function event(type: string): EventToAppend {
  return { type, data: { type } };
}

/** `count` events typed `${type}${n}` for n from `first` on. */
function events(count: number, type = 'E', first = 0): EventToAppend[] {
  return Array.from({ length: count }, (_, i) =>
    event(type + String(first + i)),
  );
}

/** Appends one event and returns the WrongExpectedVersion it must raise. */
async function appendError(
  store: EventStore,
  streamId: string,
  expectedRevision: ExpectedRevision,
  toAppend: EventToAppend[] = [event('Rejected')],
): Promise<WrongExpectedVersion> {
  try {
    await store.appendToStream(streamId, toAppend, { expectedRevision });
  } catch (error) {
    if (error instanceof WrongExpectedVersion) return error;
    throw error;
  }
  throw new Error(
    `Append to ${streamId} with expectedRevision ${String(expectedRevision)} ` +
      'succeeded, but WrongExpectedVersion was expected',
  );
}

/** Reads this test's events after `fromPosition` from the global log. */
function readOwn(
  store: EventStore,
  prefix: string,
  fromPosition: number,
): Promise<RecordedEvent[]> {
  return store.readAll({ fromPosition, filter: { streamPrefixes: [prefix] } });
}

function positionsOf(messages: SubscriptionMessage[]): number[] {
  return messages.flatMap((m) =>
    m.kind === 'event' ? [m.event.position] : [],
  );
}
