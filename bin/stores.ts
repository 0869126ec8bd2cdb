import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { openEventStoreDbStore } from '../eventstore/eventstoredb.ts';
import type { EventStore } from '../eventstore/port.ts';
import { openSqliteEventStore } from '../eventstore/sqlite.ts';
import { LocalBlobStorage } from '../storage/local.ts';
import type { BlobStorage } from '../storage/port.ts';
import { S3BlobStorage } from '../storage/s3.ts';
import { ConfigError, type StoreSettings } from './config.ts';

/**
 * Subscriptions to EventStoreDB try again for about 80 minutes of outage
 * (1 000 attempts at most 5 s apart) before the projection or worker stops.
 */
const RECONNECT_ATTEMPTS = 1_000;

/** Opens the event store that the settings name. */
export function openEventStore(
  settings: StoreSettings['eventStore'],
  logger?: Logger,
): EventStore {
  if (settings.kind === 'sqlite') {
    mkdirSync(dirname(settings.path), { recursive: true });
    return openSqliteEventStore({ path: settings.path });
  }
  return openEventStoreDbStore({
    connectionString: settings.connectionString,
    deadlineMs: settings.deadlineMs,
    reconnect: {
      maxAttempts: RECONNECT_ATTEMPTS,
      onReconnect: ({ attempt, delayMs, error }) =>
        logger?.warn(
          { err: error, attempt, delayMs },
          'EventStoreDB subscription dropped; subscribing again',
        ),
    },
  });
}

/** Opens the blob storage that the settings name. */
export function openBlobStorage(
  settings: StoreSettings['storage'],
): Promise<BlobStorage> {
  if (settings.kind === 'local') {
    return Promise.resolve(new LocalBlobStorage(settings.root));
  }
  return openS3(settings);
}

/**
 * Reads the log's head once, so that a process whose event store is
 * unreachable stops at start-up with the adapter's error instead of
 * retrying in the background.
 */
export async function checkEventStore(
  store: EventStore,
  settings: StoreSettings['eventStore'],
): Promise<void> {
  try {
    await store.headPosition();
  } catch (error) {
    const name =
      settings.kind === 'sqlite' ? settings.path : 'BORINGKIT_EVENTSTORE_URL';
    throw new ConfigError(
      `The event store (${name}) could not be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function openS3(
  settings: Extract<StoreSettings['storage'], { kind: 's3' }>,
): Promise<BlobStorage> {
  const storage = new S3BlobStorage({
    bucket: settings.bucket,
    region: settings.region,
    endpoint: settings.endpoint,
    keyPrefix: settings.keyPrefix || undefined,
    spoolDirectory: settings.spoolDirectory,
    credentials: settings.credentials,
  });
  mkdirSync(settings.spoolDirectory, { recursive: true });
  try {
    await storage.check();
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  return storage;
}
