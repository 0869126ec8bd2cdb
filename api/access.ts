import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';
import {
  isWidgetTokenExpired,
  type WidgetTokenState,
} from '../domain/widget-token.ts';
import { identifyCaller, type Caller } from './auth.ts';
import type { ApiContext } from './context.ts';
import { checkTokenOrigin } from './cors.ts';
import { OPENAPI_PATH } from './openapi/service-paths.ts';
import { requestCredential } from './query-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace of the request's credential, set for every /v1 route. */
    workspaceId: string;
    /** The request's widget token, or undefined for an API key. */
    widgetToken: WidgetTokenState | undefined;
  }
}

/** Returns the caller of an authenticated /v1 request. */
export function callerOf(request: FastifyRequest): Caller {
  return {
    workspaceId: request.workspaceId,
    widgetToken: request.widgetToken,
  };
}

function isApiRequest(request: FastifyRequest): boolean {
  if (request.method === 'OPTIONS') return false;
  if (request.routeOptions.url === OPENAPI_PATH) return false;
  return request.url.startsWith('/v1/') || request.url === '/v1';
}

/**
 * Authenticates a /v1 request and, for a widget token, checks in this
 * order: the Origin header, the expiry, and whether the route accepts
 * widget tokens. The OpenAPI document and CORS preflights need no
 * credential.
 */
export async function authorizeApiRequest(
  context: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (!isApiRequest(request)) return;

  const caller = await identifyCaller(
    context.apiKeys,
    context.widgetTokens,
    requestCredential(request),
  );
  request.workspaceId = caller.workspaceId;
  request.widgetToken = caller.widgetToken;
  const token = caller.widgetToken;
  if (!token) return;

  checkTokenOrigin(request, reply, token);
  if (isWidgetTokenExpired(token, new Date())) {
    throw errors.widgetTokenExpired(
      `Widget token ${token.id} expired at ${token.expiresAt}. Reload the ` +
        'page for a new token, or mint one with POST /v1/widget-tokens.',
    );
  }
  // An unknown route has no URL here and returns 404 as usual.
  const route = request.routeOptions;
  if (route.url !== undefined && !route.config?.widgetToken) {
    throw errors.widgetTokenNotAllowed(
      `${request.method} ${route.url} does not accept widget tokens. Call it ` +
        'from your backend with an API key; widget tokens reach only the ' +
        'tool catalog and the jobs they create.',
    );
  }
}
