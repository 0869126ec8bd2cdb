import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { buildApp, type RouteEntry } from '../api/app.ts';
import { ApiKeys } from '../api/auth.ts';
import { JobService } from '../api/job-service.ts';
import { WidgetTokenService } from '../api/widget-tokens.ts';
import {
  presignedBlobUrls,
  signedBlobUrls,
  type BlobUrls,
} from '../api/blob-urls.ts';
import { PresignedUploads } from '../api/presigned-uploads.ts';
import {
  NotAReadModel,
  openReadModelDatabase,
  type ReadModelDatabase,
} from '../projections/database.ts';
import { ReadModel } from '../projections/read-model.ts';
import {
  checkSourceLog,
  ReadModelSourceMismatch,
} from '../projections/source-log.ts';
import type { EventStore } from '../eventstore/port.ts';
import { isPresigned, type BlobStorage } from '../storage/port.ts';
import { UrlSigner } from '../storage/signed-urls.ts';
import { Dispatcher } from '../workers/dispatcher.ts';
import {
  closeEngines,
  createToolRunners,
  engineStatus,
} from '../workers/tools/index.ts';
import { ConfigError, DEV_WORKSPACE_ID, type Config } from './config.ts';
import { lockReadModel, readModelLockPath } from './read-model-lock.ts';
import { checkEventStore, openBlobStorage, openEventStore } from './stores.ts';
import { removeStaleUploads } from './stale-uploads.ts';
import { prepareWidget, WIDGET_ASSETS_DIR } from './widget-assets.ts';

export type Role = 'api' | 'worker';

export interface RunningService {
  /** The API's origin, when this process serves the API. */
  url: string | undefined;
  /** The worker's dispatcher, when this process runs one. */
  worker: Dispatcher | undefined;
  /** The API's routes, or none when this process serves no API. */
  routes: readonly RouteEntry[];
  close(): Promise<void>;
}

/** Opens the read model, turning a file of the wrong kind into a ConfigError. */
function openOwnReadModel(path: string): ReadModelDatabase {
  try {
    return openReadModelDatabase(path);
  } catch (error) {
    if (error instanceof NotAReadModel) {
      throw new ConfigError(`BORINGKIT_READ_MODEL_PATH: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Opens the event store and blob storage that the configuration names and
 * starts the API, the worker or both on them. This is the composition root.
 */
export async function startService(
  config: Config,
  roles: readonly Role[],
  logger: Logger,
): Promise<RunningService> {
  // Claimed before anything starts, so a second API on this data dir stops
  // here instead of projecting into the same read model.
  const { readModelPath } = config.stores;
  if (roles.includes('api')) {
    try {
      mkdirSync(dirname(readModelPath), { recursive: true });
    } catch (error) {
      throw new ConfigError(
        `BORINGKIT_READ_MODEL_PATH=${readModelPath}: its directory cannot ` +
          `be created (${(error as NodeJS.ErrnoException).code ?? 'error'}). ` +
          'Name a file in a directory this user can create or write to.',
        { cause: error },
      );
    }
  }
  const releaseReadModel = roles.includes('api')
    ? lockReadModel(readModelLockPath(readModelPath))
    : () => {};
  const store = openEventStore(config.stores.eventStore, logger);
  const storage = await checkEventStore(store, config.stores.eventStore)
    .then(() => openBlobStorage(config.stores.storage))
    .catch(async (error: unknown) => {
      await store.close();
      releaseReadModel();
      throw error;
    });
  const closers: (() => Promise<void>)[] = [];
  let url: string | undefined;
  let worker: Dispatcher | undefined;
  let routes: readonly RouteEntry[] = [];

  if (roles.includes('worker')) {
    const workRoot = join(config.dataDir, 'work');
    mkdirSync(workRoot, { recursive: true });
    const dispatcher = new Dispatcher({
      store,
      storage,
      runners: createToolRunners(),
      workerId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      concurrency: config.workerConcurrency,
      leaseSeconds: config.leaseSeconds,
      workRoot,
      logger,
      supervisorIntervalMs: config.supervisorIntervalMs,
      shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    });
    await dispatcher.start();
    worker = dispatcher;
    closers.push(
      () => dispatcher.stop(),
      () => closeEngines(),
    );
  }

  if (roles.includes('api')) {
    try {
      const api = await startApi(config, store, storage, logger);
      url = api.url;
      routes = api.routes;
      // The API closes first so no new work arrives while workers drain.
      closers.unshift(async () => {
        await api.close();
        releaseReadModel();
      });
    } catch (error) {
      // Stop what already started, so a failed start leaves no worker,
      // subscription or lock behind.
      for (const close of closers) await close();
      await store.close();
      releaseReadModel();
      throw error;
    }
  }

  return {
    url,
    worker,
    routes,
    async close() {
      // No new attempts start while the API finishes its requests.
      worker?.stopClaiming();
      for (const close of closers) await close();
      await store.close();
    },
  };
}

/**
 * Starts the API on the opened stores: its read model, its routes, and the
 * check of presigned uploads when the storage has them.
 */
async function startApi(
  config: Config,
  store: EventStore,
  storage: BlobStorage,
  logger: Logger,
): Promise<{
  url: string;
  routes: readonly RouteEntry[];
  close(): Promise<void>;
}> {
  const { readModelPath } = config.stores;
  const tempDir = join(config.dataDir, 'tmp');
  await removeStaleUploads(tempDir, logger);
  const readModelDatabase = openOwnReadModel(readModelPath);
  await checkSourceLog(store, readModelDatabase, readModelPath).catch(
    (error: unknown) => {
      readModelDatabase.close();
      throw error instanceof ReadModelSourceMismatch
        ? new ConfigError(error.message, { cause: error })
        : error;
    },
  );
  const readModel = new ReadModel(store, readModelDatabase, (error) =>
    logger.error({ err: error }, 'read model projection failed'),
  );
  await readModel.start();

  let publicUrl = config.publicUrl;
  const signer = new UrlSigner(config.signingSecret, () => publicUrl);
  const urls: BlobUrls = isPresigned(storage)
    ? presignedBlobUrls(storage)
    : signedBlobUrls(signer);
  const widgetTokens = new WidgetTokenService({ store, readModel, logger });
  const jobs = new JobService({
    store,
    storage,
    readModel,
    widgetTokens,
    engineStatus,
    config: {
      startingCredits: config.startingCredits,
      uploadIntentSeconds: config.uploadIntentSeconds,
      downloadIntentSeconds: config.downloadIntentSeconds,
      maxRetentionSeconds: config.maxRetentionSeconds,
    },
  });
  await prepareWidget(logger);
  const app = await buildApp(
    {
      store,
      storage,
      readModel,
      signer,
      urls,
      jobs,
      widgetTokens,
      engineStatus,
      apiKeys: new ApiKeys(config.apiKeys),
      uploadTempDir: tempDir,
    },
    {
      logger,
      widget: {
        assetsDir: WIDGET_ASSETS_DIR,
        publicUrl: () => publicUrl,
        demoWorkspaceId:
          config.generatedDevKey === undefined ? undefined : DEV_WORKSPACE_ID,
      },
    },
  );
  const uploads = isPresigned(storage)
    ? new PresignedUploads({
        storage,
        store,
        jobs,
        tempDir: tempDir,
        logger,
      })
    : undefined;
  await app.listen({ port: config.port, host: config.host });
  uploads?.start();
  const address = app.server.address();
  if (!config.publicUrlConfigured && address && typeof address === 'object') {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    publicUrl = `http://${host}:${address.port}`;
  }
  return {
    url: publicUrl,
    routes: app.routeTable,
    async close() {
      await app.close();
      await uploads?.stop();
      readModel.stop();
      readModelDatabase.close();
    },
  };
}
