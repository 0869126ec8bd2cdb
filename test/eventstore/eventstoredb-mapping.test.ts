import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  AccessDeniedError,
  convertToCommandError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  START,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendResult as ClientAppendResult,
  type AppendToStreamOptions,
  type Filter,
  type JSONEventData,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { WrongExpectedVersion } from '../../eventstore/errors.ts';
import {
  describeHosts,
  eventPosition,
  matchesFilter,
  toClientExpectedRevision,
  toClientPosition,
  toEventData,
  toServerFilter,
  toWrongExpectedVersion,
  translateClientError,
  type ClientRecordedEvent,
} from '../../eventstore/eventstoredb-mapping.ts';
import {
  openEventStoreDbStore,
  type ClientRead,
  type EventStoreDbClient,
  type EventStoreDbReconnectOptions,
  type EventStoreDbStore,
} from '../../eventstore/eventstoredb.ts';
import type { EventToAppend } from '../../eventstore/port.ts';
import {
  collect,
  delay,
  isStrictlyIncreasing,
  waitFor,
} from './subscription-helpers.ts';

const CONNECTION_STRING = 'esdb://admin:s3cret@127.0.0.1:2113?tls=false';
const DEADLINE_MS = 250;
/** Bytes between two fake log records. Real records vary in size. */
const RECORD_SIZE = 173n;
/** uint64 max, which servers send for "no position". */
const NO_POSITION = 18_446_744_073_709_551_615n;

describe('EventStoreDB mapping', () => {
  it('maps expected revisions', () => {
    expect(toClientExpectedRevision('any')).toBe('any');
    expect(toClientExpectedRevision('no_stream')).toBe('no_stream');
    expect(toClientExpectedRevision('stream_exists')).toBe('stream_exists');
    expect(toClientExpectedRevision(7)).toBe(7n);
  });

  it('maps WrongExpectedVersionError', () => {
    const clientError = new WrongExpectedVersionError(undefined, {
      streamName: 'job-1',
      expected: 0n,
      current: 3n,
    });

    const error = toWrongExpectedVersion(clientError, 'job-1', 0);

    expect(error).toBeInstanceOf(WrongExpectedVersion);
    expect(error.streamId).toBe('job-1');
    expect(error.expected).toBe(0);
    expect(error.actual).toBe(3);
    expect(error.cause).toBe(clientError);
  });

  it('maps a missing stream to no_stream', () => {
    const clientError = new WrongExpectedVersionError(undefined, {
      streamName: 'job-1',
      expected: 'stream_exists',
      current: 'no_stream',
    });

    const error = toWrongExpectedVersion(clientError, 'job-1', 'stream_exists');

    expect(error.expected).toBe('stream_exists');
    expect(error.actual).toBe('no_stream');
  });

  it('maps positions to exclusive starts', () => {
    expect(toClientPosition(0)).toBe(START);
    expect(toClientPosition(4269)).toEqual({ commit: 4269n, prepare: 4269n });
  });

  it('takes the commit position', () => {
    const recorded = clientEvent({ commit: 4269n, prepare: 4269n });

    expect(eventPosition(recorded)).toBe(4269);
  });

  it('rejects explicit-transaction positions', () => {
    const recorded = clientEvent({ commit: 9000n, prepare: 4269n });

    expect(() => eventPosition(recorded)).toThrow(/explicit transaction/);
  });

  it('rejects a missing position', () => {
    const missing = clientEvent(undefined);
    const unset = clientEvent({ commit: NO_POSITION, prepare: NO_POSITION });

    expect(() => eventPosition(missing)).toThrow(/later than 22\.6\.0/);
    expect(() => eventPosition(unset)).toThrow(/later than 22\.6\.0/);
  });

  it('describes hosts without credentials', () => {
    expect(describeHosts(CONNECTION_STRING)).toBe('127.0.0.1:2113');
    expect(describeHosts('esdb://127.0.0.1:2113,[::1]:2114?tls=false')).toBe(
      '127.0.0.1:2113, [::1]:2114',
    );
    expect(describeHosts('esdb+discover://u:p@localhost:2113/x')).toBe(
      'localhost:2113',
    );
  });

  it('translates unavailable errors', () => {
    const context = {
      call: 'readStream',
      hosts: '127.0.0.1:2113',
      deadlineMs: 5,
    };
    const converted = convertToCommandError(grpcError(14, 'UNAVAILABLE'));
    const plain = grpcError(14, 'UNAVAILABLE');

    for (const error of [converted, plain]) {
      const message = String(
        (translateClientError(error, context) as Error).message,
      );
      expect(message).toContain('readStream');
      expect(message).toContain('127.0.0.1:2113');
      expect(message).toContain('unavailable');
      expect(message).toContain('Start the server');
    }
    expect(converted).toBeInstanceOf(UnavailableError);
  });

  it('translates deadline errors', () => {
    const context = { call: 'appendToStream', hosts: 'h:1', deadlineMs: 5 };
    const fromServer = new DeadlineExceededError();
    const fromGrpc = convertToCommandError(grpcError(4, 'DEADLINE_EXCEEDED'));

    for (const error of [fromServer, fromGrpc]) {
      const message = String(
        (translateClientError(error, context) as Error).message,
      );
      expect(message).toContain('appendToStream timed out after 5 ms');
    }
  });

  it('passes other errors through', () => {
    const error = new AccessDeniedError();
    const context = { call: 'readAll', hosts: 'h:1', deadlineMs: 5 };

    expect(translateClientError(error, context)).toBe(error);
  });

  it('builds server filters', () => {
    const noop = () => undefined;

    const prefixes = toServerFilter({ streamPrefixes: ['job-'] }, noop);
    const types = toServerFilter({ eventTypes: ['JobCreated'] }, noop);
    const both = toServerFilter(
      { streamPrefixes: ['job-'], eventTypes: ['JobCreated'] },
      noop,
    );
    const none = toServerFilter(undefined, noop);
    const empty = toServerFilter({ streamPrefixes: [] }, noop);

    expect(prefixes).toMatchObject({
      filterOn: 'streamName',
      prefixes: ['job-'],
    });
    expect(types).toMatchObject({
      filterOn: 'eventType',
      prefixes: ['JobCreated'],
    });
    expect(both).toMatchObject({ filterOn: 'streamName', prefixes: ['job-'] });
    expect(none).toMatchObject({ filterOn: 'streamName', regex: '^[^$]' });
    expect(empty).toMatchObject({ filterOn: 'streamName', regex: '^[^$]' });
    expect(none.checkpointReached).toBe(noop);
  });

  it('matches filters literally', () => {
    const event = { streamId: 'job_1', type: 'JobCreated' };

    expect(matchesFilter(event, { streamPrefixes: ['job_'] })).toBe(true);
    expect(matchesFilter(event, { streamPrefixes: ['JOB_'] })).toBe(false);
    expect(matchesFilter(event, { streamPrefixes: [] })).toBe(false);
    expect(matchesFilter(event, { eventTypes: ['JobCreate'] })).toBe(false);
    expect(
      matchesFilter(event, {
        streamPrefixes: ['job'],
        eventTypes: ['JobCreated'],
      }),
    ).toBe(true);
  });

  it('rejects a repeated id in one append', () => {
    const id = randomUUID();

    expect(() =>
      toEventData('job-1', [
        { ...event('A'), id },
        { ...event('B'), id },
      ]),
    ).toThrow(/appears twice/);
  });

  it('lower-cases ids and defaults metadata', () => {
    const id = randomUUID().toUpperCase();

    const [data] = toEventData('job-1', [{ ...event('A'), id }]);

    expect(data?.id).toBe(id.toLowerCase());
    expect(data?.metadata).toEqual({});
    expect(data?.contentType).toBe('application/json');
  });

  it('rejects data JSON cannot hold', () => {
    expect(() =>
      toEventData('job-1', [{ type: 'A', data: undefined }]),
    ).toThrow(TypeError);
  });
});

describe('EventStoreDB store with a fake client', () => {
  let fake: FakeEventStoreDb;
  let store: EventStoreDbStore;

  function open(reconnect: EventStoreDbReconnectOptions = {}) {
    fake = new FakeEventStoreDb();
    store = openEventStoreDbStore({
      connectionString: CONNECTION_STRING,
      deadlineMs: DEADLINE_MS,
      reconnect: { initialDelayMs: 1, maxDelayMs: 4, ...reconnect },
      client: fake,
    });
  }

  afterEach(async () => {
    await store.close();
    vi.restoreAllMocks();
  });

  describe('appendToStream', () => {
    it('passes expected revisions', async () => {
      open();
      await store.appendToStream('a', [event('A')], {
        expectedRevision: 'no_stream',
      });
      await store.appendToStream('a', [event('B')], {
        expectedRevision: 'stream_exists',
      });
      await store.appendToStream('a', [event('C')], { expectedRevision: 1 });
      await store.appendToStream('a', [event('D')]);

      const sent = fake
        .callsOf('appendToStream')
        .map(
          (call) => (call.options as AppendToStreamOptions).expectedRevision,
        );
      expect(sent).toEqual(['no_stream', 'stream_exists', 1n, 'any']);
    });

    it('positions a multi-event append uniquely', async () => {
      open();
      const first = await store.appendToStream('a', events(3));
      const second = await store.appendToStream('b', events(2));

      const all = await store.readAll();
      const positions = all.map((e) => e.position);
      const streamA = await store.readStream('a');

      expect(new Set(positions).size).toBe(5);
      expect(isStrictlyIncreasing(positions)).toBe(true);
      expect(first.position).toBe(streamA.at(-1)?.position);
      expect(first.nextExpectedRevision).toBe(2);
      expect(second.position).toBe(positions.at(-1));
      expect(streamA.map((e) => e.position)).toEqual(positions.slice(0, 3));
    });

    it('maps a rejected expectation', async () => {
      open();
      await store.appendToStream('a', events(2));

      const stale = await appendError(store, 'a', 0);
      const exists = await appendError(store, 'a', 'no_stream');
      const missing = await appendError(store, 'b', 'stream_exists');

      expect(stale.expected).toBe(0);
      expect(stale.actual).toBe(1);
      expect(exists.actual).toBe(1);
      expect(missing.actual).toBe('no_stream');
    });

    it('checks an empty append locally', async () => {
      open();
      await store.appendToStream('a', events(2));

      const existing = await store.appendToStream('a', [], {
        expectedRevision: 1,
      });
      const created = await store.appendToStream('b', [], {
        expectedRevision: 'no_stream',
      });
      const stale = await appendError(store, 'a', 5, []);

      expect(existing.nextExpectedRevision).toBe(1);
      expect(existing.position).toBe(
        (await store.readStream('a'))[1]?.position,
      );
      expect(created).toEqual({ nextExpectedRevision: -1, position: 0 });
      expect(stale.actual).toBe(1);
      expect(fake.callsOf('appendToStream')).toHaveLength(1);
    });

    it('reads the position when none is reported', async () => {
      open();
      fake.reportAppendPosition = false;

      const result = await store.appendToStream('a', events(2));

      const [, last] = await store.readStream('a');
      expect(result.position).toBe(last?.position);
      expect(result.position).toBeGreaterThan(0);
    });

    it('maps an unsuccessful append result', async () => {
      open();
      await store.appendToStream('a', events(1));
      fake.appendReply = () =>
        Promise.resolve({ success: false, nextExpectedRevision: -1n });

      const error = await appendError(store, 'a', 'no_stream');

      expect(error.actual).toBe(0);
    });

    it('names host and fix when unavailable', async () => {
      open();
      fake.appendReply = () =>
        Promise.reject(convertToCommandError(grpcError(14, 'UNAVAILABLE')));

      const attempt = store.appendToStream('a', [event('A')]);

      await expect(attempt).rejects.toThrow(
        'appendToStream failed: the server at 127.0.0.1:2113 is unavailable',
      );
      await expect(attempt).rejects.toThrow(
        'Start the server, or set the connection string to a running server',
      );
      await expect(attempt).rejects.not.toThrow(/s3cret/);
    });

    it('times out a hanging append', async () => {
      open();
      fake.appendReply = () => new Promise(() => undefined);

      const attempt = store.appendToStream('a', [event('A')]);

      await expect(attempt).rejects.toThrow(
        'EventStoreDB appendToStream timed out after 250 ms (deadlineMs) ' +
          'on 127.0.0.1:2113',
      );
    });

    it('maps a server deadline', async () => {
      open();
      fake.appendReply = () => Promise.reject(new DeadlineExceededError());

      const attempt = store.appendToStream('a', [event('A')]);

      await expect(attempt).rejects.toThrow(/appendToStream timed out/);
    });
  });

  describe('recorded events', () => {
    it('round-trips metadata', async () => {
      open();
      const metadata = {
        correlationId: 'c-1',
        actor: 'user:1',
        schemaVersion: 2,
      };
      const data = { title: 'Zoë', pages: [1, 2] };

      await store.appendToStream('a', [
        { type: 'A', data, metadata },
        event('B'),
      ]);

      const [withMetadata, without] = await store.readStream('a');
      expect(withMetadata?.metadata).toEqual(metadata);
      expect(withMetadata?.data).toEqual(data);
      expect(without?.metadata).toEqual({});
      expect(fake.records[1]?.metadata).toEqual({});
    });

    it('reads binary metadata as empty', async () => {
      open();
      fake.write({ streamId: 'a', metadata: new Uint8Array([1, 2]) });

      const [recorded] = await store.readStream('a');

      expect(recorded?.metadata).toEqual({});
    });

    it('takes createdAt from the server', async () => {
      open();
      const created = new Date('2026-12-01T10:00:00.123Z');
      fake.write({ streamId: 'a', created });

      const [recorded] = await store.readStream('a');

      expect(recorded?.createdAt).toEqual(created);
    });
  });

  describe('readStream', () => {
    it('reads a missing stream as empty', async () => {
      open();

      expect(await store.readStream('missing')).toEqual([]);
    });

    it('passes direction and revision', async () => {
      open();
      await store.appendToStream('a', events(5));

      const backwards = await store.readStream('a', { direction: 'backwards' });
      const from = await store.readStream('a', {
        fromRevision: 2,
        maxCount: 2,
      });

      expect(backwards.map((e) => e.revision)).toEqual([4, 3, 2, 1, 0]);
      expect(from.map((e) => e.revision)).toEqual([2, 3]);
      const [backwardsCall, fromCall] = fake.callsOf('readStream');
      expect(backwardsCall?.options).toMatchObject({ fromRevision: END });
      expect(fromCall?.options).toMatchObject({
        fromRevision: 2n,
        maxCount: 2,
      });
    });

    it('times out and cancels a read', async () => {
      open();
      fake.hangReads = true;

      const attempt = store.readStream('a');

      await expect(attempt).rejects.toThrow(
        /readStream timed out after 250 ms/,
      );
      expect(fake.reads.at(-1)?.cancelled).toBe(true);
    });

    it('rejects events without a position', async () => {
      open();
      await store.appendToStream('a', events(1));
      fake.streamPositions = false;

      await expect(store.readStream('a')).rejects.toThrow(/22\.6\.0/);
    });
  });

  describe('readAll', () => {
    it('excludes system events', async () => {
      open();
      await store.appendToStream('a', [event('A')]);
      fake.write({
        streamId: '$stats-127.0.0.1:2113',
        type: '$statsCollected',
      });
      await store.appendToStream('b', [event('B')]);
      fake.write({ streamId: '$$b', type: '$metadata' });

      const read = await store.readAll();

      expect(read.map((e) => e.streamId)).toEqual(['a', 'b']);
      expect(fake.subscriptionFilters()).toEqual([
        expect.objectContaining({ filterOn: 'streamName', regex: '^[^$]' }),
      ]);
    });

    it('excludes system events the server sent', async () => {
      open();
      fake.applyServerFilter = false;
      await store.appendToStream('a', [event('A')]);
      fake.write({
        streamId: '$stats-127.0.0.1:2113',
        type: '$statsCollected',
      });
      await store.appendToStream('b', [event('B')]);

      const read = await store.readAll();

      expect(read.map((e) => e.streamId)).toEqual(['a', 'b']);
    });

    it('treats fromPosition as exclusive', async () => {
      open();
      await store.appendToStream('a', events(4));
      const all = await store.readAll();
      const second = all[1]?.position ?? Number.NaN;

      const read = await store.readAll({ fromPosition: second });

      expect(read.map((e) => e.position)).toEqual(
        all.slice(2).map((e) => e.position),
      );
      expect(fake.subscriptions.at(-1)?.options.fromPosition).toEqual({
        commit: BigInt(second),
        prepare: BigInt(second),
      });
    });

    it('stops at maxCount', async () => {
      open();
      await store.appendToStream('a', events(5));

      const read = await store.readAll({ maxCount: 2 });

      expect(read.map((e) => e.type)).toEqual(['E0', 'E1']);
      expect(fake.subscriptions.at(-1)?.unsubscribed).toBe(true);
    });

    it('applies event types client-side', async () => {
      open();
      await store.appendToStream('job-1', [
        event('Created'),
        event('CreatedX'),
      ]);
      await store.appendToStream('credit-1', [event('Created')]);

      const read = await store.readAll({
        filter: { streamPrefixes: ['job-'], eventTypes: ['Created'] },
      });

      expect(read.map((e) => `${e.streamId}/${e.type}`)).toEqual([
        'job-1/Created',
      ]);
      expect(fake.subscriptionFilters()).toEqual([
        expect.objectContaining({ filterOn: 'streamName', prefixes: ['job-'] }),
      ]);
    });

    it('ends on a checkpoint past the head', async () => {
      open();
      fake.caughtUpSignal = 'checkpoint';
      await store.appendToStream('job-1', events(3));
      await store.appendToStream('credit-1', events(1));

      const read = await store.readAll({
        filter: { streamPrefixes: ['job-'] },
      });

      expect(read.map((e) => e.streamId)).toEqual(['job-1', 'job-1', 'job-1']);
    });

    it('times out without evidence of the head', async () => {
      open();
      fake.caughtUpSignal = 'none';
      await store.appendToStream('job-1', events(1));
      await store.appendToStream('credit-1', events(1));

      const attempt = store.readAll({ filter: { streamPrefixes: ['job-'] } });

      await expect(attempt).rejects.toThrow(/readAll timed out after 250 ms/);
      expect(fake.subscriptions.at(-1)?.unsubscribed).toBe(true);
    });

    it('opens no subscription on an empty log', async () => {
      open();

      expect(await store.readAll()).toEqual([]);
      expect(fake.subscriptions).toHaveLength(0);
    });
  });

  describe('headPosition', () => {
    it('skips system events', async () => {
      open();
      await store.appendToStream('a', events(2));
      const last = (await store.readStream('a'))[1]?.position;
      fake.write({
        streamId: '$stats-127.0.0.1:2113',
        type: '$statsCollected',
      });
      fake.write({ streamId: '$$a', type: '$metadata' });

      expect(await store.headPosition()).toBe(last);
      expect(fake.reads.at(-1)?.yielded).toBe(3);
      expect(fake.reads.at(-1)?.cancelled).toBe(true);
    });

    it('is 0 without user events', async () => {
      open();
      fake.write({
        streamId: '$stats-127.0.0.1:2113',
        type: '$statsCollected',
      });

      expect(await store.headPosition()).toBe(0);
    });
  });

  it('sets the deadline on every call', async () => {
    open();
    await store.appendToStream('job-1', events(2));
    await store.readStream('job-1');
    await store.readAll();
    await store.headPosition();
    const feed = collect(store.subscribeToAll());
    await feed.waitForCaughtUp();
    feed.subscription.unsubscribe();

    const methods = new Set(fake.calls.map((call) => call.method));
    expect([...methods].sort()).toEqual([
      'appendToStream',
      'readAll',
      'readStream',
      'subscribeToAll',
    ]);
    for (const call of fake.calls) {
      expect(call.options.deadline, call.method).toBe(DEADLINE_MS);
    }
  });

  describe('subscribeToAll', () => {
    it('catches up, then goes live', async () => {
      open();
      await store.appendToStream('job-1', events(3));
      await store.appendToStream('job-2', events(2));
      const head = await store.headPosition();

      const feed = collect(store.subscribeToAll());
      const duringSubscribe = feed.messages.length;
      await feed.waitForCaughtUp();
      await store.appendToStream('job-3', events(2));
      await feed.waitForEvents(7);
      feed.subscription.unsubscribe();

      const markerIndex = feed.caughtUpIndex();
      const positions = feed.events().map((e) => e.position);
      expect(duringSubscribe).toBe(0);
      expect(feed.caughtUp()).toEqual([{ kind: 'caughtUp', position: head }]);
      expect(markerIndex).toBe(5);
      expect(isStrictlyIncreasing(positions)).toBe(true);
      expect(positions[4]).toBe(head);
      expect(positions[5]).toBeGreaterThan(head);
    });

    it('marks after buffered events', async () => {
      open();
      fake.bufferCatchUp = true;
      await store.appendToStream('job-1', events(3));
      await store.appendToStream('credit-1', events(1));

      const feed = collect(
        store.subscribeToAll({ filter: { streamPrefixes: ['job-'] } }),
      );
      await feed.waitForCaughtUp();
      feed.subscription.unsubscribe();

      expect(feed.messages.map((m) => m.kind)).toEqual([
        'event',
        'event',
        'event',
        'caughtUp',
      ]);
    });

    it('marks on a checkpoint past the head', async () => {
      open();
      fake.caughtUpSignal = 'checkpoint';
      await store.appendToStream('job-1', events(2));
      await store.appendToStream('credit-1', events(1));
      const head = await store.headPosition();

      const feed = collect(
        store.subscribeToAll({ filter: { streamPrefixes: ['job-'] } }),
      );
      await feed.waitForCaughtUp();
      feed.subscription.unsubscribe();

      expect(feed.events()).toHaveLength(2);
      expect(feed.caughtUp()).toEqual([{ kind: 'caughtUp', position: head }]);
    });

    it('marks before the first live event', async () => {
      open();
      fake.caughtUpSignal = 'none';
      await store.appendToStream('job-1', events(1));
      await store.appendToStream('credit-1', events(1));
      const head = await store.headPosition();
      const feed = collect(
        store.subscribeToAll({ filter: { streamPrefixes: ['job-'] } }),
      );
      await feed.waitForEvents(1);
      await delay(20);
      const beforeLive = feed.caughtUpIndex();

      await store.appendToStream('job-2', events(1));
      await feed.waitForEvents(2);
      feed.subscription.unsubscribe();

      expect(beforeLive).toBe(-1);
      expect(feed.messages.map((m) => m.kind)).toEqual([
        'event',
        'caughtUp',
        'event',
      ]);
      expect(feed.caughtUp()[0]?.position).toBe(head);
    });

    it('marks an empty range at fromPosition', async () => {
      open();
      await store.appendToStream('a', events(2));
      const head = await store.headPosition();

      const feed = collect(store.subscribeToAll({ fromPosition: head }));
      await feed.waitForCaughtUp();
      await delay(20);
      feed.subscription.unsubscribe();

      expect(feed.messages).toEqual([{ kind: 'caughtUp', position: head }]);
    });

    it('drops system events the server sent', async () => {
      open();
      fake.applyServerFilter = false;
      await store.appendToStream('a', events(1));
      fake.write({
        streamId: '$stats-127.0.0.1:2113',
        type: '$statsCollected',
      });
      await store.appendToStream('b', events(1));

      const feed = collect(store.subscribeToAll());
      await feed.waitForCaughtUp();
      feed.subscription.unsubscribe();

      expect(feed.events().map((e) => e.streamId)).toEqual(['a', 'b']);
    });

    it('resubscribes without duplicates', async () => {
      const attempts: number[] = [];
      open({ onReconnect: ({ attempt }) => attempts.push(attempt) });
      await store.appendToStream('job-1', events(6));
      const all = await store.readAll();
      fake.scripts.push({ failAfter: 3, error: unavailable() });
      fake.scripts.push({ failAfter: 2, error: 'end' });

      const feed = collect(store.subscribeToAll());
      await feed.waitForEvents(6);
      await store.appendToStream('job-2', events(2));
      await feed.waitForEvents(8);
      await delay(20);
      feed.subscription.unsubscribe();

      const positions = feed.events().map((e) => e.position);
      const third = all[2]?.position ?? Number.NaN;
      expect(positions).toHaveLength(8);
      expect(new Set(positions).size).toBe(8);
      expect(positions.slice(0, 6)).toEqual(all.map((e) => e.position));
      expect(isStrictlyIncreasing(positions)).toBe(true);
      expect(feed.caughtUp()).toHaveLength(1);
      expect(feed.error()).toBeUndefined();
      expect(attempts).toEqual([1, 1]);
      // Subscription 0 served readAll; 1 failed after the third event.
      expect(fake.subscriptions).toHaveLength(4);
      expect(fake.subscriptions[2]?.options.fromPosition).toEqual({
        commit: BigInt(third),
        prepare: BigInt(third),
      });
    });

    it('errors after the last attempt', async () => {
      const attempts: number[] = [];
      open({
        maxAttempts: 2,
        onReconnect: ({ attempt }) => attempts.push(attempt),
      });
      for (let i = 0; i < 3; i += 1) {
        fake.scripts.push({ failAfter: 0, error: unavailable() });
      }

      const feed = collect(store.subscribeToAll());
      await waitFor('the error', () => feed.error() !== undefined);

      expect(String((feed.error() as Error).message)).toMatch(
        /subscribeToAll failed: the server at 127\.0\.0\.1:2113 is unavailable/,
      );
      expect(attempts).toEqual([1, 2]);
      expect(fake.subscriptions).toHaveLength(3);
    });

    it('errors on a lasting error at once', async () => {
      open();
      const denied = new AccessDeniedError();
      fake.scripts.push({ failAfter: 0, error: denied });

      const feed = collect(store.subscribeToAll());
      await waitFor('the error', () => feed.error() !== undefined);

      expect(feed.error()).toBe(denied);
      expect(fake.subscriptions).toHaveLength(1);
    });

    it('errors on an explicit transaction', async () => {
      open();
      fake.write({ streamId: 'legacy', commit: 90_000n, prepare: 80_000n });

      const feed = collect(store.subscribeToAll());
      await waitFor('the error', () => feed.error() !== undefined);

      expect(String((feed.error() as Error).message)).toMatch(
        /explicit transaction/,
      );
    });

    it('completes and disposes on close', async () => {
      open();
      const feed = collect(store.subscribeToAll());
      await feed.waitForCaughtUp();

      await store.close();

      expect(feed.isCompleted()).toBe(true);
      expect(fake.disposed).toBe(true);
      expect(fake.subscriptions.at(-1)?.unsubscribed).toBe(true);
      await expect(store.headPosition()).rejects.toThrow(/closed/);
    });
  });

  describe('client', () => {
    it('is created on first use', async () => {
      const lazy = new FakeEventStoreDb();
      const create = vi
        .spyOn(EventStoreDBClient, 'connectionString')
        .mockReturnValue(lazy as unknown as EventStoreDBClient);
      store = openEventStoreDbStore({ connectionString: CONNECTION_STRING });
      const beforeUse = create.mock.calls.length;

      await store.headPosition();

      expect(beforeUse).toBe(0);
      expect(create).toHaveBeenCalledTimes(1);
      expect(create).toHaveBeenCalledWith(CONNECTION_STRING);
    });

    it('is not created by close', async () => {
      const create = vi.spyOn(EventStoreDBClient, 'connectionString');
      store = openEventStoreDbStore({ connectionString: CONNECTION_STRING });

      await store.close();

      expect(create).not.toHaveBeenCalled();
    });

    it('needs a connection string', () => {
      const open = (connectionString: unknown) => () =>
        openEventStoreDbStore({ connectionString } as {
          connectionString: string;
        });

      expect(open(undefined)).toThrow(/Invalid connectionString/);
      expect(open('http://127.0.0.1:2113')).toThrow(/esdb:\/\//);
      store = openEventStoreDbStore({ connectionString: CONNECTION_STRING });
    });
  });
});

interface FakeRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  created: Date;
  commit: bigint;
  prepare: bigint;
}

/** How the next fake subscription fails: after `failAfter` events. */
interface SubscriptionScript {
  failAfter: number;
  /** 'end' ends the stream without an error. */
  error: Error | 'end';
}

/**
 * An EventStoreDB log in memory behind the client's interface. Each event
 * gets its own log position as both commit and prepare position, as a
 * server does for appends through gRPC. Subscriptions include the event at
 * their start position, so the adapter must drop it.
 */
class FakeEventStoreDb implements EventStoreDbClient {
  readonly records: FakeRecord[] = [];
  readonly calls: { method: string; options: { deadline?: number } }[] = [];
  readonly reads: FakeRead<unknown>[] = [];
  readonly subscriptions: FakeSubscription[] = [];
  readonly live = new Set<FakeSubscription>();
  readonly scripts: SubscriptionScript[] = [];
  /** How a subscription signals the end of its catch-up. */
  caughtUpSignal: 'message' | 'checkpoint' | 'none' = 'message';
  /** Keeps catch-up events in the stream buffer until the signal is out. */
  bufferCatchUp = false;
  applyServerFilter = true;
  /** False emulates servers that send no position on stream reads. */
  streamPositions = true;
  reportAppendPosition = true;
  hangReads = false;
  appendReply: (() => Promise<ClientAppendResult>) | undefined;
  disposed = false;
  private nextPosition = 4_096n;

  callsOf(method: string) {
    return this.calls.filter((call) => call.method === method);
  }

  subscriptionFilters(): (Filter | undefined)[] {
    return this.subscriptions.map((s) => s.options.filter);
  }

  /** Records one event; positions default to the next log position. */
  write(fields: Partial<FakeRecord> & { streamId: string }): FakeRecord {
    const position = this.nextPosition;
    this.nextPosition += RECORD_SIZE;
    const revision = this.lastRevision(fields.streamId) ?? -1n;
    const record: FakeRecord = {
      id: randomUUID(),
      revision: revision + 1n,
      type: 'Tested',
      data: {},
      metadata: undefined,
      created: new Date(),
      commit: position,
      prepare: position,
      ...fields,
    };
    this.records.push(record);
    for (const subscription of this.live) {
      setImmediate(() => subscription.offer(record));
    }
    return record;
  }

  appendToStream(
    streamName: string,
    events: JSONEventData[],
    options: AppendToStreamOptions,
  ): Promise<ClientAppendResult> {
    this.calls.push({ method: 'appendToStream', options });
    if (this.appendReply !== undefined) return this.appendReply();

    const last = this.lastRevision(streamName);
    const expected = options.expectedRevision ?? 'any';
    if (!fulfils(expected, last)) {
      const current = last ?? 'no_stream';
      return Promise.reject(
        new WrongExpectedVersionError(undefined, {
          streamName,
          expected,
          current,
        }),
      );
    }
    const written = events.map((proposed) =>
      this.write({
        streamId: streamName,
        id: proposed.id,
        type: proposed.type,
        // The client sends JSON; a copy shows what a read returns.
        data: JSON.parse(JSON.stringify(proposed.data)) as unknown,
        metadata: JSON.parse(JSON.stringify(proposed.metadata)) as unknown,
      }),
    );
    const lastWritten = written.at(-1);
    // The prepare position differs from the commit position, so that a
    // test notices an adapter that reads the wrong one.
    const position =
      this.reportAppendPosition && lastWritten !== undefined
        ? { commit: lastWritten.commit, prepare: written[0]?.prepare ?? 0n }
        : undefined;
    return Promise.resolve({
      success: true,
      nextExpectedRevision: lastWritten?.revision ?? -1n,
      position,
    });
  }

  readStream(
    streamName: string,
    options: ReadStreamOptions,
  ): ClientRead<ResolvedEvent> {
    this.calls.push({ method: 'readStream', options });
    const inStream = this.records.filter((r) => r.streamId === streamName);
    if (this.hangReads) return this.track(new FakeRead<ResolvedEvent>('hang'));
    if (inStream.length === 0) {
      return this.track(
        new FakeRead<ResolvedEvent>(
          new StreamNotFoundError(undefined, streamName),
        ),
      );
    }

    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? END : START);
    const ordered = backwards ? [...inStream].reverse() : inStream;
    const selected = ordered.filter((r) => {
      if (typeof from !== 'bigint') return true;
      return backwards ? r.revision <= from : r.revision >= from;
    });
    const limited = selected.slice(0, Number(options.maxCount ?? Infinity));
    return this.track(
      new FakeRead(limited.map((r) => resolvedOf(r, this.streamPositions))),
    );
  }

  readAll(options: ReadAllOptions): ClientRead<AllStreamResolvedEvent> {
    this.calls.push({ method: 'readAll', options });
    if (options.direction !== 'backwards' || options.fromPosition !== END) {
      throw new Error('The fake reads $all only backwards from the end');
    }
    const newestFirst = [...this.records].reverse();
    return this.track(
      new FakeRead(newestFirst.map((r) => resolvedOf(r, true))),
    );
  }

  subscribeToAll(options: SubscribeToAllOptions): FakeSubscription {
    this.calls.push({ method: 'subscribeToAll', options });
    const subscription = new FakeSubscription(
      this,
      options,
      this.scripts.shift(),
    );
    this.subscriptions.push(subscription);
    setImmediate(() => subscription.catchUp());
    return subscription;
  }

  dispose(): Promise<void> {
    this.disposed = true;
    for (const subscription of this.live) void subscription.unsubscribe();
    return Promise.resolve();
  }

  /** Checks whether a server-side filter lets the record through. */
  allows(filter: Filter | undefined, record: FakeRecord): boolean {
    if (filter === undefined || !this.applyServerFilter) return true;
    const value =
      filter.filterOn === 'streamName' ? record.streamId : record.type;
    if ('prefixes' in filter) {
      return filter.prefixes.some((prefix) => value.startsWith(prefix));
    }
    return new RegExp(filter.regex).test(value);
  }

  nextLogPosition(): bigint {
    return this.nextPosition;
  }

  private lastRevision(streamId: string): bigint | undefined {
    return this.records.findLast((r) => r.streamId === streamId)?.revision;
  }

  private track<E>(read: FakeRead<E>): FakeRead<E> {
    this.reads.push(read as FakeRead<unknown>);
    return read;
  }
}

/** A read of the fake: items, an error at the first step, or no end. */
class FakeRead<E> implements ClientRead<E> {
  cancelled = false;
  yielded = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly items: E[] | Error | 'hang') {}

  cancel(): Promise<void> {
    this.cancelled = true;
    this.wake?.();
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<E> {
    if (this.items === 'hang') {
      await new Promise<void>((resolve) => (this.wake = resolve));
      return;
    }
    if (this.items instanceof Error) throw this.items;
    for (const item of this.items) {
      if (this.cancelled) return;
      this.yielded += 1;
      yield item;
    }
  }
}

/**
 * A catch-up subscription of the fake: an object-mode stream like the
 * client's, which reports checkpoints through the filter's callback and
 * emits 'caughtUp' as servers from 23.10 on do.
 */
class FakeSubscription extends Readable {
  unsubscribed = false;
  private pushed = 0;
  private considered = 0;

  constructor(
    private readonly server: FakeEventStoreDb,
    readonly options: SubscribeToAllOptions,
    private readonly script: SubscriptionScript | undefined,
  ) {
    super({ objectMode: true, read: () => undefined });
  }

  unsubscribe(): Promise<void> {
    this.unsubscribed = true;
    this.server.live.delete(this);
    return Promise.resolve();
  }

  catchUp(): void {
    if (this.unsubscribed) return;
    if (this.script?.failAfter === 0) {
      this.fail();
      return;
    }
    if (this.server.bufferCatchUp) this.pause();
    const from = this.options.fromPosition;
    const start = typeof from === 'object' ? from.commit : 0n;
    for (const record of this.server.records) {
      if (record.commit >= start) this.offer(record);
      if (this.unsubscribed) return;
    }
    const end = this.server.nextLogPosition();
    if (this.server.caughtUpSignal === 'message') this.emit('caughtUp');
    if (this.server.caughtUpSignal === 'checkpoint') this.checkpoint(end);
    this.server.live.add(this);
    if (this.server.bufferCatchUp) this.resume();
  }

  /** Sends the record when the filter allows it, then maybe a checkpoint. */
  offer(record: FakeRecord): void {
    if (this.unsubscribed) return;
    this.considered += 1;
    const filter = this.options.filter;
    if (this.server.allows(filter, record)) {
      this.push(resolvedOf(record, true));
      this.pushed += 1;
      if (this.pushed === this.script?.failAfter) {
        this.fail();
        return;
      }
    }
    // A real server checkpoints once per search window (32 events here).
    if (this.considered % 32 === 0)
      this.checkpoint(record.commit + RECORD_SIZE);
  }

  private checkpoint(commit: bigint): void {
    const position: Position = { commit, prepare: 0n };
    void this.options.filter?.checkpointReached?.(
      this as unknown as AllStreamSubscription,
      position,
    );
  }

  private fail(): void {
    this.unsubscribed = true;
    this.server.live.delete(this);
    const error = this.script?.error;
    if (error === 'end') this.push(null);
    else this.emit('error', error);
  }
}

function fulfils(
  expected: NonNullable<AppendToStreamOptions['expectedRevision']>,
  last: bigint | undefined,
): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return last === undefined;
  if (expected === 'stream_exists') return last !== undefined;
  return last === expected;
}

function resolvedOf(
  record: FakeRecord,
  withPosition: boolean,
): AllStreamResolvedEvent {
  const event = {
    streamId: record.streamId,
    id: record.id,
    revision: record.revision,
    type: record.type,
    created: record.created,
    data: record.data,
    metadata: record.metadata,
    isJson: true,
    position: withPosition
      ? { commit: record.commit, prepare: record.prepare }
      : undefined,
  };
  return { event, commitPosition: record.commit } as AllStreamResolvedEvent;
}

function clientEvent(position: Position | undefined): ClientRecordedEvent {
  return {
    streamId: 'job-1',
    id: randomUUID(),
    revision: 0n,
    type: 'Tested',
    created: new Date(),
    data: {},
    metadata: undefined,
    position,
  };
}

/** Builds a gRPC error as @grpc/grpc-js does, before the client converts it. */
function grpcError(code: number, name: string): Error {
  const details = name === 'UNAVAILABLE' ? 'No connection established' : name;
  return Object.assign(new Error(`${String(code)} ${name}: ${details}`), {
    code,
    details,
  });
}

function unavailable(): Error {
  return convertToCommandError(grpcError(14, 'UNAVAILABLE'));
}

function event(type: string): EventToAppend {
  return { type, data: { type } };
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, (_, i) => event(`E${String(i)}`));
}

async function appendError(
  store: EventStoreDbStore,
  streamId: string,
  expectedRevision: number | 'any' | 'no_stream' | 'stream_exists',
  toAppend: EventToAppend[] = [event('Rejected')],
): Promise<WrongExpectedVersion> {
  try {
    await store.appendToStream(streamId, toAppend, { expectedRevision });
  } catch (error) {
    if (error instanceof WrongExpectedVersion) return error;
    throw error;
  }
  throw new Error(`Append to ${streamId} succeeded, but should not have`);
}
