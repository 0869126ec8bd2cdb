import type { FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';
import type { ApiKeys } from './auth.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Whether the route also takes its credential as a `token` query
     * parameter, for WebSocket clients in browsers, which cannot set an
     * Authorization header.
     */
    queryToken?: boolean;
  }
}

function queryTokens(url: string): string[] {
  const start = url.indexOf('?');
  if (start < 0) return [];
  return new URLSearchParams(url.slice(start + 1)).getAll('token');
}

/**
 * Returns the workspace of a /v1 request, or throws 401. The key comes from
 * the Authorization header; routes with `config: { queryToken: true }` also
 * take it from a `token` query parameter. A request may use one of the two,
 * not both, so it never carries two keys that disagree.
 */
export function authenticateRequest(
  apiKeys: ApiKeys,
  request: FastifyRequest,
): string {
  const tokens = queryTokens(request.url);
  if (!request.routeOptions.config?.queryToken || tokens.length === 0) {
    return apiKeys.authenticate(request);
  }
  if (request.headers.authorization !== undefined) {
    throw errors.unauthorized(
      'The request has both an Authorization header and a token query ' +
        'parameter. Send the key in one of them.',
    );
  }
  if (tokens.length > 1) {
    throw errors.unauthorized(
      `The token query parameter appears ${tokens.length} times. Send it once.`,
    );
  }
  const workspaceId = apiKeys.workspaceFor(tokens[0] ?? '');
  if (!workspaceId) {
    throw errors.unauthorized(
      'The token query parameter is not a known API key. Check ' +
        'BORINGKIT_API_KEYS on the server or the dev key it printed at ' +
        'start-up.',
    );
  }
  return workspaceId;
}
