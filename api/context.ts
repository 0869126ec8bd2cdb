import type { FastifyRequest } from 'fastify';
import type { Engine } from '../domain/catalog.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import type { ReadModel } from '../projections/read-model.ts';
import type { BlobStorage } from '../storage/port.ts';
import type { UrlSigner } from '../storage/signed-urls.ts';
import type { EngineStatus } from '../workers/tool.ts';
import type { ApiKeys } from './auth.ts';
import type { BlobUrls } from './blob-urls.ts';
import type { JobService } from './job-service.ts';
import type { WidgetTokenService } from './widget-tokens.ts';

/** Dependencies that every route module gets from the composition root. */
export interface ApiContext {
  store: EventStore;
  storage: BlobStorage;
  readModel: ReadModel;
  /** Verifies the URLs of the API's own blob routes. */
  signer: UrlSigner;
  /** Issues the upload and download URLs that clients get. */
  urls: BlobUrls;
  apiKeys: ApiKeys;
  jobs: JobService;
  widgetTokens: WidgetTokenService;
  engineStatus: (engine: Engine) => EngineStatus;
  /** Directory for uploads in progress, on the same disk as the blobs. */
  uploadTempDir: string;
}

/** Metadata of the events a request appends; the actor is its credential. */
export function requestMetadata(request: FastifyRequest): EventMetadata {
  return {
    requestId: request.id,
    correlationId: request.id,
    actor: request.widgetToken
      ? `widget-token:${request.widgetToken.id}`
      : `workspace:${request.workspaceId}`,
  };
}
