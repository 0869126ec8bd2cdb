import { link, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import {
  NotAReadModel,
  openReadModelDatabase,
} from '../../projections/database.ts';
import { storeSettings } from '../../bin/config.ts';
import { readModelLockPath } from '../../bin/read-model-lock.ts';

const DATA = '/srv/boringkit';

describe('store settings', () => {
  it('defaults to the embedded stores in the data dir', () => {
    expect(storeSettings({}, DATA)).toEqual({
      eventStore: { kind: 'sqlite', path: join(DATA, 'events.sqlite') },
      storage: { kind: 'local', root: join(DATA, 'blobs') },
      readModelPath: join(DATA, 'readmodel.sqlite'),
    });
  });

  it('reads EventStoreDB, S3 and a read model path', () => {
    const settings = storeSettings(
      {
        BORINGKIT_EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false',
        BORINGKIT_EVENTSTORE_DEADLINE_MS: '2500',
        BORINGKIT_S3_BUCKET: 'jobs',
        BORINGKIT_S3_ENDPOINT: 'http://127.0.0.1:9000',
        BORINGKIT_S3_KEY_PREFIX: 'boringkit/prod',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
        BORINGKIT_READ_MODEL_PATH: '/var/lib/api-2/readmodel.sqlite',
      },
      DATA,
    );
    expect(settings).toEqual({
      eventStore: {
        kind: 'eventstoredb',
        connectionString: 'esdb://127.0.0.1:2113?tls=false',
        deadlineMs: 2500,
      },
      storage: {
        kind: 's3',
        bucket: 'jobs',
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9000',
        keyPrefix: 'boringkit/prod',
        spoolDirectory: join(DATA, 'tmp'),
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      },
      readModelPath: '/var/lib/api-2/readmodel.sqlite',
    });
    expect(readModelLockPath(settings.readModelPath)).toBe(
      '/var/lib/api-2/readmodel.pid',
    );
  });

  it.each([
    [
      { BORINGKIT_EVENTSTORE_URL: 'http://127.0.0.1:2113' },
      'BORINGKIT_EVENTSTORE_URL=http://127.0.0.1:2113 is invalid: expected a URL with a host, starting with esdb:// or esdb+discover://.',
    ],
    [
      { BORINGKIT_S3_BUCKET: 'b', BORINGKIT_S3_ENDPOINT: '127.0.0.1:9000' },
      'BORINGKIT_S3_ENDPOINT=127.0.0.1:9000 is invalid: expected a URL with a host, starting with http:// or https://.',
    ],
    [
      { BORINGKIT_EVENTSTORE_URL: 'esdb://' },
      'BORINGKIT_EVENTSTORE_URL=esdb:// is invalid: expected a URL with a host',
    ],
    [
      { BORINGKIT_S3_BUCKET: 'b', BORINGKIT_S3_KEY_PREFIX: '/abs/' },
      'BORINGKIT_S3_KEY_PREFIX=/abs/ is invalid',
    ],
    [
      { BORINGKIT_S3_BUCKET: 'b', BORINGKIT_S3_KEY_PREFIX: '../x' },
      'BORINGKIT_S3_KEY_PREFIX=../x is invalid',
    ],
    [
      { BORINGKIT_READ_MODEL_PATH: `${DATA}/events.sqlite` },
      `BORINGKIT_READ_MODEL_PATH=${DATA}/events.sqlite is the event log's file.`,
    ],
    [
      { BORINGKIT_READ_MODEL_PATH: '/var/lib/api/' },
      'BORINGKIT_READ_MODEL_PATH=/var/lib/api/ is a directory.',
    ],
  ])('refuses %j', (env, message) => {
    expect(() => storeSettings(env, DATA)).toThrow(message);
  });
});

describe('read model path on disk', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'boringkit-settings-'));
    await mkdir(join(root, 'data'));
    const log = openSqliteEventStore({
      path: join(root, 'data', 'events.sqlite'),
    });
    await log.appendToStream('s-1', [{ type: 'E', data: {} }]);
    await log.close();
    await symlink(join(root, 'data'), join(root, 'linked'));
    await link(join(root, 'data', 'events.sqlite'), join(root, 'hard.sqlite'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each(['linked/events.sqlite', 'hard.sqlite', 'data/events.sqlite-wal'])(
    'refuses the log reached as %s',
    (name) => {
      const env = { BORINGKIT_READ_MODEL_PATH: join(root, name) };
      expect(() => storeSettings(env, join(root, 'data'))).toThrow(
        "is the event log's file",
      );
    },
  );

  it('refuses to open an event log as a read model', () => {
    expect(() =>
      openReadModelDatabase(join(root, 'data', 'events.sqlite')),
    ).toThrow(NotAReadModel);
  });
});
