import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  AUTHENTICATED,
  JOB_PATH,
  problemResponses,
} from './problem-responses.ts';
import { jobStreamMessageSchema } from '../job-view.ts';
import { jobIdPath } from './job-paths.ts';

const upgradeHeaders = z.object({
  Connection: z.literal('Upgrade'),
  Upgrade: z.literal('websocket'),
  'Sec-WebSocket-Key': z.string().meta({
    description: 'Base64 of 16 random bytes, as RFC 6455 defines.',
  }),
  'Sec-WebSocket-Version': z.literal('13'),
});

export const streamPath: ZodOpenApiPathsObject = {
  '/v1/jobs/{id}/stream': {
    get: {
      tags: ['Jobs'],
      operationId: 'streamJob',
      summary: 'Follow a job over a WebSocket',
      description:
        'A WebSocket (RFC 6455), not a plain HTTP resource. Open it with ' +
        'ws:// or wss:// and the Authorization header. The server sends ' +
        'JobStreamMessage text frames, {"type": "job", "job": {...}}, one ' +
        'at once and one after every change of the job. It closes the ' +
        'socket with code 1000 once the job has finished, and with 1001 ' +
        'when the server shuts down. A GET without the upgrade headers ' +
        'gets 404 with an empty body. A widget token follows only the ' +
        'jobs it created, and an upgrade request with an Origin header ' +
        'that the token does not allow is rejected with 403 ' +
        'ORIGIN_NOT_ALLOWED.',
      security: [{ bearerAuth: [] }, { widgetToken: [] }, { queryToken: [] }],
      requestParams: {
        path: jobIdPath,
        header: upgradeHeaders,
        query: z.object({
          token: z
            .string()
            .optional()
            .meta({
              description:
                'The API key or widget token, for browsers, which cannot ' +
                'set headers on a WebSocket. Send it here or in the ' +
                'Authorization header, not both.',
            }),
        }),
      },
      responses: {
        '101': {
          description:
            'Switching Protocols: the connection is now a WebSocket. The ' +
            'content below describes each text frame the server sends on ' +
            'it; a 101 response has no body.',
          content: {
            'application/json': { schema: jobStreamMessageSchema },
          },
        },
        ...problemResponses(AUTHENTICATED, JOB_PATH),
      },
    },
  },
};
