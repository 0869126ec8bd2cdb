import type { FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';

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

function bearerCredential(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) {
    throw errors.unauthorized(
      'The Authorization header is missing. Send ' +
        '"Authorization: Bearer <key>" with an API key of your workspace ' +
        'or a widget token.',
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw errors.unauthorized(
      'The Authorization header is not "Bearer <key>".',
    );
  }
  return match[1];
}

/**
 * Returns the bearer credential of a /v1 request (an API key or a widget
 * token), or throws 401. It comes from the Authorization header; routes
 * with `config: { queryToken: true }` also take it from a `token` query
 * parameter. A request may use one of the two, not both, so it never
 * carries two credentials that disagree.
 */
export function requestCredential(request: FastifyRequest): string {
  const tokens = queryTokens(request.url);
  if (!request.routeOptions.config?.queryToken || tokens.length === 0) {
    return bearerCredential(request);
  }
  if (request.headers.authorization !== undefined) {
    throw errors.unauthorized(
      'The request has both an Authorization header and a token query ' +
        'parameter. Send the credential in one of them.',
    );
  }
  if (tokens.length > 1) {
    throw errors.unauthorized(
      `The token query parameter appears ${tokens.length} times. Send it once.`,
    );
  }
  return tokens[0] ?? '';
}
