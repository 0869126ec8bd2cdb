import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { healthSchema } from '../routes/health.ts';

export const OPENAPI_PATH = '/v1/openapi.json';
export const REFERENCE_PAGE_PATH = '/docs';

export const servicePaths: ZodOpenApiPathsObject = {
  '/healthz': {
    get: {
      tags: ['Service'],
      operationId: 'getHealth',
      summary: 'Check health',
      description: 'Needs no API key. 200 once the service can take jobs.',
      security: [],
      responses: {
        '200': {
          description: 'The service can take jobs.',
          content: { 'application/json': { schema: healthSchema } },
        },
        '503': {
          description: 'The read model stopped, so the service takes no jobs.',
          content: { 'application/json': { schema: healthSchema } },
        },
      },
    },
  },
  [OPENAPI_PATH]: {
    get: {
      tags: ['Service'],
      operationId: 'getOpenApiDocument',
      summary: 'Get this OpenAPI document',
      description:
        'Public documentation: needs no API key. Generated from the zod ' +
        'schemas the server validates requests with.',
      security: [],
      responses: {
        '200': {
          description: 'The OpenAPI 3.1 document.',
          content: {
            'application/json': {
              schema: { type: 'object', description: 'An OpenAPI document.' },
            },
          },
        },
      },
    },
  },
  [REFERENCE_PAGE_PATH]: {
    get: {
      tags: ['Service'],
      operationId: 'getReferencePage',
      summary: 'Read the API reference',
      description:
        'This document rendered as one HTML page, without scripts. Needs ' +
        'no API key.',
      security: [],
      responses: {
        '200': {
          description: 'The reference page.',
          headers: z.object({
            'Content-Security-Policy': z.string().meta({
              description: "Starts with default-src 'none': no scripts run.",
            }),
          }),
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  },
};
