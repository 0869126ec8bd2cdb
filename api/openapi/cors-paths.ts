import { z } from 'zod';
import type {
  ZodOpenApiOperationObject,
  ZodOpenApiPathsObject,
} from 'zod-openapi';
import { errors } from '../../domain/errors.ts';
import { frameworkErrors } from '../problems.ts';
import { jobIdPath } from './job-paths.ts';
import { problemResponses } from './problem-responses.ts';

const preflightHeaders = z.object({
  Origin: z.string().meta({ example: 'https://shop.example' }),
  'Access-Control-Request-Method': z.string().meta({ example: 'POST' }),
  'Access-Control-Request-Headers': z.string().optional().meta({
    example: 'authorization, content-type, idempotency-key',
  }),
});

const allowedHeaders = z.object({
  'Access-Control-Allow-Origin': z.string().meta({
    description: 'The Origin of the request.',
  }),
  'Access-Control-Allow-Methods': z.string(),
  'Access-Control-Allow-Headers': z.string(),
  'Access-Control-Max-Age': z.literal('600'),
  Vary: z.string(),
});

const API_RULE =
  'A preflight carries no token, so the service allows an Origin that an ' +
  'unexpired widget token lists, and only the methods that accept widget ' +
  'tokens. The request that follows is checked against its own ' +
  "token's origins.";

const BLOB_RULE =
  'The service allows an Origin that the widget token which created the ' +
  'job lists. The signed URL stays the credential, and jobs created with ' +
  'an API key get no CORS headers.';

function preflight(
  operationId: string,
  kind: 'api' | 'blob',
  path?: z.ZodObject,
): { options: ZodOpenApiOperationObject } {
  return {
    options: {
      tags: ['CORS'],
      operationId,
      summary: 'Respond to a CORS preflight',
      description: kind === 'api' ? API_RULE : BLOB_RULE,
      security: [],
      requestParams: { header: preflightHeaders, ...(path ? { path } : {}) },
      responses: {
        '204': {
          description: 'The browser may send the request.',
          headers: allowedHeaders,
        },
        ...problemResponses(
          errors.invalidRequest,
          errors.originNotAllowed,
          kind === 'api' ? [errors.widgetTokenNotAllowed] : [],
          path ? [frameworkErrors.pathParameterTooLong] : [],
          frameworkErrors.invalidUrl,
          frameworkErrors.internalError,
        ),
      },
    },
  };
}

const toolSlugPath = z.object({
  slug: z.string().meta({ description: 'Tool slug.' }),
});

/**
 * The OPTIONS operations of the routes that pages on other origins may
 * call: those open to widget tokens, and the signed blob URLs.
 */
export const corsPaths: ZodOpenApiPathsObject = {
  '/v1/tools': preflight('preflightListTools', 'api'),
  '/v1/tools/{slug}': preflight('preflightGetTool', 'api', toolSlugPath),
  '/v1/jobs': preflight('preflightJobs', 'api'),
  '/v1/jobs/{id}': preflight('preflightGetJob', 'api', jobIdPath),
  '/v1/jobs/{id}/cancel': preflight('preflightCancelJob', 'api', jobIdPath),
  '/v1/jobs/{id}/upload-intent': preflight(
    'preflightRenewUploadIntent',
    'api',
    jobIdPath,
  ),
  '/v1/jobs/{id}/download-intent': preflight(
    'preflightGetDownloadIntent',
    'api',
    jobIdPath,
  ),
  '/blobs/jobs/{id}/input': preflight(
    'preflightUploadInput',
    'blob',
    jobIdPath,
  ),
  '/blobs/jobs/{id}/output': preflight(
    'preflightDownloadOutput',
    'blob',
    jobIdPath,
  ),
};
