import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { errors } from '../../domain/errors.ts';
import { creditsSchema } from '../routes/credits.ts';
import { toolListSchema, toolViewSchema } from '../routes/tools.ts';
import {
  API_KEY_ONLY,
  AUTHENTICATED,
  problemResponses,
  WIDGET_TOKEN_SECURITY,
} from './problem-responses.ts';

export const catalogPaths: ZodOpenApiPathsObject = {
  '/v1/tools': {
    get: {
      tags: ['Catalog'],
      operationId: 'listTools',
      summary: 'List tools',
      description:
        'Every tool with its inputs, limits, options schema, credits and ' +
        'whether this server can run it (apiJobCreation). Widget tokens ' +
        'may read the whole catalog.',
      security: WIDGET_TOKEN_SECURITY,
      responses: {
        '200': {
          description: 'The catalog.',
          content: { 'application/json': { schema: toolListSchema } },
        },
        ...problemResponses(AUTHENTICATED),
      },
    },
  },
  '/v1/tools/{slug}': {
    get: {
      tags: ['Catalog'],
      operationId: 'getTool',
      summary: 'Get a tool',
      security: WIDGET_TOKEN_SECURITY,
      requestParams: {
        path: z.object({
          slug: z.string().meta({
            description: 'Tool slug.',
            example: 'image-compress-api',
          }),
        }),
      },
      responses: {
        '200': {
          description: 'The tool.',
          content: { 'application/json': { schema: toolViewSchema } },
        },
        ...problemResponses(AUTHENTICATED, errors.toolNotFound),
      },
    },
  },
  '/v1/credits': {
    get: {
      tags: ['Credits'],
      operationId: 'getCredits',
      summary: 'Get the credit balance',
      description:
        "The workspace's balance and its ledger, oldest entry first. A " +
        "workspace's first request grants its starting credits.",
      responses: {
        '200': {
          description: 'Balance and ledger.',
          content: { 'application/json': { schema: creditsSchema } },
        },
        ...problemResponses(AUTHENTICATED, API_KEY_ONLY),
      },
    },
  },
};
