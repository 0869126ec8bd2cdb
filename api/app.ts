import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { loggerOptions } from './logging.ts';
import type { ApiContext } from './context.ts';
import { authenticateRequest } from './query-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace of the request's API key, set for every /v1 route. */
    workspaceId: string;
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
import { registerJobRoutes } from './routes/jobs.ts';
import { registerStreamRoute } from './routes/stream.ts';
import { registerToolRoutes } from './routes/tools.ts';

export async function buildApp(
  context: ApiContext,
  options: { logger?: Logger } = {},
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

  registerProblemHandlers(app);
  // Request bodies are JSON; other media types get a 415 problem.
  app.removeContentTypeParser('text/plain');
  await app.register(websocket);

  // Every /v1 request is authenticated before its body is parsed, so a
  // request without a valid key gets 401 whatever else is wrong with it.
  app.decorateRequest('workspaceId', '');
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/v1/') || request.url === '/v1') {
      request.workspaceId = authenticateRequest(context.apiKeys, request);
    }
  });

  app.get('/healthz', async (_request, reply) => {
    if (context.readModel.stopped) {
      return reply.code(503).send({ status: 'read model stopped' });
    }
    return { status: 'ok' };
  });
  registerToolRoutes(app, context);
  registerJobRoutes(app, context);
  registerCreditRoutes(app, context);
  registerStreamRoute(app, context);
  registerBlobRoutes(app, context);
  return app;
}
