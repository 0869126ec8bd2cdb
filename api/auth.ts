import { createHash } from 'node:crypto';
import { errors } from '../domain/errors.ts';
import type { WidgetTokenState } from '../domain/widget-token.ts';
import { isWidgetToken, type WidgetTokenService } from './widget-tokens.ts';

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
}

/**
 * The sender of a /v1 request: a workspace, through one of its API keys or
 * a widget token that the workspace minted.
 */
export interface Caller {
  workspaceId: string;
  /** The widget token of the request, or undefined for an API key. */
  widgetToken: WidgetTokenState | undefined;
}

/**
 * Returns the caller a bearer credential names, or throws 401. API keys are
 * looked up first, so a configured key that looks like a widget token still
 * works as a key. A widget token is returned even when it expired.
 */
export async function identifyCaller(
  apiKeys: ApiKeys,
  widgetTokens: WidgetTokenService,
  credential: string,
): Promise<Caller> {
  const workspaceId = apiKeys.workspaceFor(credential);
  if (workspaceId) return { workspaceId, widgetToken: undefined };

  if (!isWidgetToken(credential)) {
    throw errors.unauthorized(
      'The API key is not known. Check BORINGKIT_API_KEYS on the server ' +
        'or the dev key it printed at start-up.',
    );
  }
  const widgetToken = await widgetTokens.verify(credential);
  return { workspaceId: widgetToken.workspaceId, widgetToken };
}
