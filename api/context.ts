import type { FastifyRequest } from 'fastify';
import type { Engine } from '../domain/catalog.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import type { ReadModel } from '../projections/read-model.ts';
import type { BlobStorage } from '../storage/port.ts';
import type { UrlSigner } from '../storage/signed-urls.ts';
import type { EngineStatus } from '../workers/tool.ts';
import type { ApiKeys } from './auth.ts';
import type { JobService } from './job-service.ts';

/** Dependencies that every route module gets from the composition root. */
export interface ApiContext {
  store: EventStore;
  storage: BlobStorage;
  readModel: ReadModel;
  signer: UrlSigner;
  apiKeys: ApiKeys;
  jobs: JobService;
  engineStatus: (engine: Engine) => EngineStatus;
  /** Directory for uploads in progress, on the same disk as the blobs. */
  uploadTempDir: string;
}

export function requestMetadata(
  request: FastifyRequest,
  workspaceId: string,
): EventMetadata {
  return {
    requestId: request.id,
    correlationId: request.id,
    actor: `workspace:${workspaceId}`,
  };
}
