import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { errors } from '../../domain/errors.ts';
import {
  createWidgetTokenRequest,
  widgetTokenSchema,
} from '../widget-token-schemas.ts';
import {
  API_KEY_ONLY,
  AUTHENTICATED,
  JSON_BODY,
  problemResponses,
} from './problem-responses.ts';

export const widgetTokenPaths: ZodOpenApiPathsObject = {
  '/v1/widget-tokens': {
    post: {
      tags: ['Widget tokens'],
      operationId: 'createWidgetToken',
      summary: 'Mint a widget token',
      description:
        "Called by a site's backend with an API key, never by a browser. " +
        'Returns a short-lived bearer token for the <boringkit-job> ' +
        "widget on the site's pages. The token reads the tool catalog, " +
        'creates up to maxJobs jobs for its tools, and reads, follows, ' +
        'uploads to, cancels and downloads only the jobs it created. Every ' +
        'other route rejects it with 403 WIDGET_TOKEN_NOT_ALLOWED. A ' +
        'request with an Origin header not in its origins is rejected ' +
        'with 403 ORIGIN_NOT_ALLOWED, and only its origins get CORS ' +
        'headers. It lives 900 seconds (15 minutes) by default and 86400 ' +
        'seconds (24 hours) at most, and it keeps working across restarts ' +
        'of the service.',
      requestBody: {
        required: true,
        content: { 'application/json': { schema: createWidgetTokenRequest } },
      },
      responses: {
        '201': {
          description: 'The token. Its secret is shown only here.',
          content: { 'application/json': { schema: widgetTokenSchema } },
        },
        ...problemResponses(
          AUTHENTICATED,
          API_KEY_ONLY,
          JSON_BODY,
          errors.invalidRequest,
        ),
      },
    },
  },
};
