import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { loggerOptions } from './logging.ts';
import type { ApiContext } from './context.ts';
import { registerProblemHandlers } from './problems.ts';
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
  });

  registerProblemHandlers(app);
  // Request bodies are JSON; other media types get a 415 problem.
  app.removeContentTypeParser('text/plain');
  await app.register(websocket);

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
