import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * API keys by hash, so a lookup does not compare secrets byte by byte and
 * the keys themselves are not kept in memory longer than start-up.
 */
export class ApiKeys {
  private readonly workspaceByHash = new Map<string, string>();

  constructor(pairs: Iterable<{ workspaceId: string; key: string }>) {
    for (const { workspaceId, key } of pairs) {
      this.workspaceByHash.set(hashKey(key), workspaceId);
    }
  }

  workspaceFor(key: string): string | undefined {
    return this.workspaceByHash.get(hashKey(key));
  }

  /** Returns the workspace of the request's bearer key, or throws 401. */
  authenticate(request: FastifyRequest): string {
    const header = request.headers.authorization;
    if (!header) {
      throw errors.unauthorized(
        'The Authorization header is missing. Send ' +
          '"Authorization: Bearer <key>" with a key of your workspace.',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw errors.unauthorized(
        'The Authorization header is not "Bearer <key>".',
      );
    }
    const workspaceId = this.workspaceFor(match[1]);
    if (!workspaceId) {
      throw errors.unauthorized(
        'The API key is not known. Check BORINGKIT_API_KEYS on the server ' +
          'or the dev key it printed at start-up.',
      );
    }
    return workspaceId;
  }
}
