import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
} from 'fastify';
import { errors } from '../domain/errors.ts';
import {
  originProblem,
  type WidgetTokenState,
} from '../domain/widget-token.ts';
import type { ApiContext } from './context.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Whether a widget token may call the route; API keys always may. */
    widgetToken?: boolean;
    /**
     * Whether the route serves a signed blob URL, which pages on the
     * origins of the widget token that created the job may call.
     */
    blobCors?: boolean;
  }
}

/** How long a browser may cache a preflight response, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
const API_REQUEST_HEADERS = 'Authorization, Content-Type, Idempotency-Key';
const BLOB_REQUEST_HEADERS = 'Content-Type';
const EXPOSED_HEADERS = 'Idempotent-Replayed';

/** Routes that browsers may call across origins, by URL. */
export interface CorsRoute {
  kind: 'api' | 'blob';
  methods: string[];
}

function allowOrigin(reply: FastifyReply, origin: string): void {
  reply
    .header('access-control-allow-origin', origin)
    .header('access-control-expose-headers', EXPOSED_HEADERS)
    .header('vary', 'Origin');
}

/**
 * Checks the Origin header of a request with a widget token. A listed
 * origin gets CORS headers, also on the error the request may still get.
 * Another origin is rejected with 403. Without an Origin header (a server
 * or a same-origin GET) there is nothing to check, because the token, not
 * the origin, is the credential.
 */
/**
 * Returns how to let a page on `origin` use a token, or why no token can
 * allow it (the origin "null", for one).
 */
function mintAdvice(origin: string): string {
  const problem = originProblem(origin);
  if (problem !== undefined) {
    return `No token can allow it: ${problem}`;
  }
  return `Mint the page's token with "origins": ["${origin}"].`;
}

export function checkTokenOrigin(
  request: FastifyRequest,
  reply: FastifyReply,
  token: WidgetTokenState,
): void {
  const { origin } = request.headers;
  if (origin === undefined) return;
  if (!token.origins.includes(origin)) {
    throw errors.originNotAllowed(
      `Widget token ${token.id} does not allow the origin ${origin}. It ` +
        `allows ${token.origins.join(', ')}. ${mintAdvice(origin)}`,
    );
  }
  allowOrigin(reply, origin);
}

/**
 * Collects the routes that browsers may call across origins as they are
 * registered: /v1 routes open to widget tokens (WebSockets aside, which
 * have no preflight) and signed blob URLs. HEAD needs no preflight.
 */
export function trackCorsRoutes(app: FastifyInstance): Map<string, CorsRoute> {
  const routes = new Map<string, CorsRoute>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config ?? {};
    const kind = config.blobCors
      ? 'blob'
      : config.widgetToken && !route.websocket
        ? 'api'
        : undefined;
    if (!kind) return;

    const entry = routes.get(route.url) ?? { kind, methods: [] };
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') entry.methods.push(method);
    }
    routes.set(route.url, entry);
  });
  return routes;
}

/**
 * Adds CORS headers to signed blob URLs requested from a page on an
 * origin of the widget token that created the job. The URL carries no
 * token, and its signature, checked by the route, stays the credential.
 */
export function registerBlobCors(app: FastifyInstance, context: ApiContext) {
  app.addHook('onRequest', async (request, reply) => {
    const { origin } = request.headers;
    if (!request.routeOptions.config?.blobCors || origin === undefined) return;
    if (request.method === 'OPTIONS') return;

    const { id } = request.params as { id: string };
    const origins = await context.widgetTokens.originsOfJob(id);
    if (origins.includes(origin)) allowOrigin(reply, origin);
  });
}

async function checkPreflight(
  request: FastifyRequest,
  url: string,
  route: CorsRoute,
  context: ApiContext,
): Promise<string> {
  const { origin } = request.headers;
  const method = request.headers['access-control-request-method'];
  if (!origin || !method) {
    throw errors.invalidRequest(
      `OPTIONS ${url} accepts CORS preflight requests only. Send the ` +
        'Origin and Access-Control-Request-Method headers.',
    );
  }
  if (!route.methods.includes(method.toUpperCase())) {
    throw errors.widgetTokenNotAllowed(
      `${method} ${url} does not accept widget tokens, so browsers may not ` +
        'send it across origins. Call it from your backend with an API key.',
    );
  }

  if (route.kind === 'api') {
    // NOTE: the origins come from this process's read model, so a token
    // minted through another API process is preflighted here only once this
    // process has projected it, which the SQLite store's polling delays by
    // up to 50 ms.
    const until = context.readModel.queries.originAllowedUntil(origin);
    if (until === undefined || Date.parse(until) <= Date.now()) {
      throw errors.originNotAllowed(
        `No unexpired widget token allows the origin ${origin}. ` +
          mintAdvice(origin),
      );
    }
    return origin;
  }

  const { id } = request.params as { id: string };
  if (!(await context.widgetTokens.originsOfJob(id)).includes(origin)) {
    throw errors.originNotAllowed(
      `Job ${id} was not created by a widget token that allows the origin ` +
        `${origin}, so its signed URLs are not open to that origin.`,
    );
  }
  return origin;
}

/**
 * Registers an OPTIONS route that responds to CORS preflights for each
 * collected route. A preflight carries no token, so a /v1 route allows an
 * origin that some unexpired widget token lists, and the actual request
 * then checks its own token. A blob URL allows the origins of the token
 * that created the job. Call it once every other route is registered.
 */
export function registerPreflightRoutes(
  app: FastifyInstance,
  routes: ReadonlyMap<string, CorsRoute>,
  context: ApiContext,
) {
  for (const [url, route] of [...routes]) {
    app.options(url, async (request, reply) => {
      const origin = await checkPreflight(request, url, route, context);
      return reply
        .code(204)
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-methods', route.methods.join(', '))
        .header(
          'access-control-allow-headers',
          route.kind === 'api' ? API_REQUEST_HEADERS : BLOB_REQUEST_HEADERS,
        )
        .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS))
        .header(
          'vary',
          'Origin, Access-Control-Request-Method, ' +
            'Access-Control-Request-Headers',
        )
        .send();
    });
  }
}
