import type { FastifyInstance } from 'fastify';
import { errors } from '../../domain/errors.ts';
import { requestMetadata, type ApiContext } from '../context.ts';
import { parseOrThrow } from '../validation.ts';
import { createWidgetTokenRequest } from '../widget-token-schemas.ts';

/**
 * `POST /v1/widget-tokens`: a site's backend mints a short-lived token for
 * the `<boringkit-job>` widget on its pages, so the API key never reaches a
 * browser. Widget tokens cannot call it.
 */
export function registerWidgetTokenRoutes(
  app: FastifyInstance,
  context: ApiContext,
) {
  app.post('/v1/widget-tokens', async (request, reply) => {
    const body = parseOrThrow(
      createWidgetTokenRequest,
      request.body,
      errors.invalidRequest,
    );
    const token = await context.widgetTokens.issue(
      request.workspaceId,
      body,
      requestMetadata(request),
    );
    request.log.info(
      {
        tokenId: token.id,
        tools: token.tools,
        origins: token.origins,
        maxJobs: token.maxJobs,
        expiresAt: token.expiresAt,
      },
      'widget token issued',
    );
    return reply.code(201).send(token);
  });
}
