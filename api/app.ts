import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { loggerOptions } from './logging.ts';
import { authenticateRequest } from './query-token.ts';
import type { ApiContext } from './context.ts';

/** A registered route, as the OpenAPI contract tests compare them. */
export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace of the request's API key, set for every /v1 route. */
    workspaceId: string;
  }
  interface FastifyInstance {
    /** Every route registered on the app, HEAD routes included. */
    routeTable: readonly RouteEntry[];
  }
}
import {
  answerClientError,
  fromFrameworkError,
  registerProblemHandlers,
  sendProblem,
} from './problems.ts';
import { registerBlobRoutes } from './routes/blobs.ts';
import { registerCreditRoutes } from './routes/credits.ts';
import { registerDocsRoutes } from './routes/docs.ts';
import { registerHealthRoute } from './routes/health.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerStreamRoute } from './routes/stream.ts';
import { registerToolRoutes } from './routes/tools.ts';
import {
  registerWidgetRoutes,
  type WidgetRouteOptions,
} from './routes/widget.ts';
import { OPENAPI_PATH } from './openapi/service-paths.ts';

export async function buildApp(
  context: ApiContext,
  options: { logger?: Logger; widget?: WidgetRouteOptions } = {},
) {
  const app = Fastify({
    loggerInstance: (options.logger ??
      pino(loggerOptions())) as FastifyBaseLogger,
    // Upload bodies are streamed by their own route, not buffered.
    bodyLimit: 1024 * 1024,
    // `__proto__` and `constructor.prototype` keys are dropped from JSON
    // bodies instead of failing the request as invalid JSON.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    frameworkErrors: (error, _request, reply) =>
      sendProblem(reply, fromFrameworkError(error)),
    clientErrorHandler: answerClientError,
  });

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routeTable.push({ method, url: route.url });
    }
  });

  registerProblemHandlers(app);
  // Request bodies are JSON; other media types get a 415 problem.
  app.removeContentTypeParser('text/plain');
  await app.register(websocket);

  // Every /v1 request is authenticated before its body is parsed, so a
  // request without a valid key gets 401 whatever else is wrong with it.
  // The OpenAPI document is public documentation and needs no key.
  app.decorateRequest('workspaceId', '');
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === OPENAPI_PATH) return;
    if (request.url.startsWith('/v1/') || request.url === '/v1') {
      request.workspaceId = authenticateRequest(context.apiKeys, request);
    }
  });

  registerHealthRoute(app, context);
  registerDocsRoutes(app);
  registerToolRoutes(app, context);
  registerJobRoutes(app, context);
  registerCreditRoutes(app, context);
  registerStreamRoute(app, context);
  registerBlobRoutes(app, context);
  if (options.widget) registerWidgetRoutes(app, options.widget);
  return app;
}
