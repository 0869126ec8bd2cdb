import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventStore } from '../eventstore/port.ts';
import { openSqliteEventStore } from '../eventstore/sqlite.ts';
import { LocalBlobStorage } from '../storage/local.ts';
import type { BlobStorage } from '../storage/port.ts';
import { S3BlobStorage } from '../storage/s3.ts';
import { ConfigError, type StoreSettings } from './config.ts';

/** Opens the event store that the settings name. */
export function openEventStore(
  settings: StoreSettings['eventStore'],
): EventStore {
  if (settings.kind === 'sqlite') {
    mkdirSync(dirname(settings.path), { recursive: true });
    return openSqliteEventStore({ path: settings.path });
  }
  throw new ConfigError('EventStoreDB is not supported yet');
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
  await storage.check();
  return storage;
}
