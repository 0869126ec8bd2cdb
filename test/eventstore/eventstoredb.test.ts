import { randomUUID } from 'node:crypto';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  openEventStoreDbStore,
  type EventStoreDbStore,
} from '../../eventstore/eventstoredb.ts';
import { eventStoreContract, type EventStoreFixture } from './contract.ts';

// Runs against a server only when EVENTSTORE_URL names one. Tests write
// streams under random prefixes and leave them there, so a shared
// development server works.
const EVENTSTORE_URL = process.env.EVENTSTORE_URL ?? '';

if (EVENTSTORE_URL === '') {
  console.warn(
    'EventStoreDB contract suite skipped: set ' +
      'EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false to run it against ' +
      'a server',
  );
  // A skipped suite never calls the factory, so nothing connects.
  describe.skip('EventStoreDB (EVENTSTORE_URL not set)', () => {
    eventStoreContract('EventStoreDB', () =>
      Promise.reject(new Error('EVENTSTORE_URL is not set')),
    );
  });
} else {
  eventStoreContract('EventStoreDB', () =>
    Promise.resolve(eventStoreDbFixture(EVENTSTORE_URL)),
  );

  describe('EventStoreDB event store', () => {
    let store: EventStoreDbStore;
    let prefix: string;

    beforeEach(() => {
      store = openEventStoreDbStore({ connectionString: EVENTSTORE_URL });
      prefix = `t${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await store.close();
    });

    it('headPosition skips system streams', async () => {
      const own = await store.appendToStream(`${prefix}-a`, [event()]);

      await store.appendToStream(`$${prefix}-system`, [event()]);

      expect(await store.headPosition()).toBe(own.position);
    });

    it('readAll skips system streams', async () => {
      const start = await store.headPosition();
      await store.appendToStream(`$${prefix}-system`, [event()]);
      await store.appendToStream(`${prefix}-a`, [event()]);

      const read = await store.readAll({
        fromPosition: start,
        filter: { streamPrefixes: [`$${prefix}`, prefix] },
      });

      expect(read.map((e) => e.streamId)).toEqual([`${prefix}-a`]);
    });

    it('positions a multi-event append uniquely', async () => {
      const result = await store.appendToStream(`${prefix}-a`, [
        event(),
        event(),
        event(),
      ]);

      const positions = (await store.readStream(`${prefix}-a`)).map(
        (e) => e.position,
      );
      expect(new Set(positions).size).toBe(3);
      expect(positions[0]).toBeLessThan(positions[1] ?? 0);
      expect(positions[1]).toBeLessThan(positions[2] ?? 0);
      expect(result.position).toBe(positions[2]);
    });
  });
}

/** Opens a store on the server. Reopening connects a new client. */
function eventStoreDbFixture(connectionString: string): EventStoreFixture {
  const open = () => openEventStoreDbStore({ connectionString });
  let current = open();

  return {
    store: current,
    eventIdsUniquePerStream: true,
    async reopen() {
      await current.close();
      current = open();
      return current;
    },
    // NOTE: the test streams stay on the server.
    async cleanup() {
      await current.close();
    },
  };
}

function event() {
  return { type: 'Tested', data: {} };
}
