import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { loggerOptions } from './logging.ts';
import { authorizeApiRequest } from './access.ts';
import type { ApiContext } from './context.ts';
import {
  registerBlobCors,
  registerPreflightRoutes,
  trackCorsRoutes,
} from './cors.ts';

/** A registered route, as the OpenAPI contract tests compare them. */
export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
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
import { registerWidgetTokenRoutes } from './routes/widget-tokens.ts';
import { registerWidgetRoutes } from './routes/widget.ts';
import { demoTokenMinter } from './demo-token.ts';

/** Settings of the widget's build and demo page. */
export interface WidgetOptions {
  /** The directory `npm run build:widget` writes. */
  assetsDir: string;
  /** The service's public URL, known once the server listens. */
  publicUrl: () => string;
  /** The workspace the demo page's tokens belong to, or none for no token. */
  demoWorkspaceId: string | undefined;
}

export async function buildApp(
  context: ApiContext,
  options: { logger?: Logger; widget?: WidgetOptions } = {},
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
  await app.register(websocket, {
    // The plugin's default closes streams without a code. Code 1001 (going
    // away) lets clients reconnect, to this or another API process.
    preClose(done) {
      for (const client of this.websocketServer.clients) {
        client.close(1001, 'server shutting down');
      }
      this.websocketServer.close(done);
    },
  });

  // Every /v1 request is authenticated before its body is parsed, so a
  // request without a valid credential gets 401 whatever else is wrong
  // with it. The OpenAPI document is public documentation and needs none.
  app.decorateRequest('workspaceId', '');
  app.decorateRequest('widgetToken', undefined);
  app.addHook('onRequest', (request, reply) =>
    authorizeApiRequest(context, request, reply),
  );
  registerBlobCors(app, context);
  const corsRoutes = trackCorsRoutes(app);

  registerHealthRoute(app, context);
  registerDocsRoutes(app);
  registerToolRoutes(app, context);
  registerJobRoutes(app, context);
  registerCreditRoutes(app, context);
  registerStreamRoute(app, context);
  registerBlobRoutes(app, context);
  registerWidgetTokenRoutes(app, context);
  if (options.widget) {
    const { assetsDir, publicUrl, demoWorkspaceId } = options.widget;
    registerWidgetRoutes(app, {
      assetsDir,
      publicUrl,
      mintDemoToken:
        demoWorkspaceId === undefined
          ? undefined
          : demoTokenMinter(context, demoWorkspaceId),
    });
  }

  // The blob routes register inside a plugin, which loads here.
  await app.after();
  registerPreflightRoutes(app, corsRoutes, context);
  return app;
}
