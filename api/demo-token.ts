import type { FastifyRequest } from 'fastify';
import { tools } from '../domain/catalog.ts';
import { originProblem } from '../domain/widget-token.ts';
import type { ApiContext } from './context.ts';

/** Lifetime of the demo page's widget token, in seconds. */
const DEMO_TOKEN_SECONDS = 60 * 60;
const DEMO_TOKEN_JOBS = 50;

export interface DemoToken {
  id: string;
  token: string;
  expiresAt: string;
}

/** Mints the demo page's widget token for the given origins. */
export type DemoTokenMinter = (origins: string[]) => Promise<DemoToken>;

/**
 * Returns a minter of demo tokens for a workspace: one hour, 50 jobs, and
 * every tool this server can run (every tool when it can run none, so the
 * page still lists them).
 */
export function demoTokenMinter(
  context: ApiContext,
  workspaceId: string,
): DemoTokenMinter {
  return async (origins) => {
    const available = tools
      .filter((tool) => tool.implemented)
      .filter((tool) => context.engineStatus(tool.engine).available)
      .map((tool) => tool.slug);
    const { id, token, expiresAt } = await context.widgetTokens.issue(
      workspaceId,
      {
        tools: available.length > 0 ? available : tools.map((t) => t.slug),
        origins,
        maxJobs: DEMO_TOKEN_JOBS,
        expiresInSeconds: DEMO_TOKEN_SECONDS,
      },
      { actor: 'demo-page' },
    );
    return { id, token, expiresAt };
  };
}

function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/**
 * Returns the origins the demo page's token allows: the service's public
 * origin, and the origin the visitor typed when it is another loopback
 * name (localhost for 127.0.0.1, or a local proxy's port). It
 * returns none for a Host header with any other name, because a page
 * reached that way may be a DNS-rebinding attack on this machine.
 */
export function demoOrigins(
  request: FastifyRequest,
  publicUrl: string,
): string[] {
  const publicOrigin = new URL(publicUrl).origin;
  let visited: URL;
  try {
    visited = new URL(`http://${request.headers.host ?? ''}`);
  } catch {
    return [];
  }
  if (visited.origin === publicOrigin) return [publicOrigin];
  if (!isLoopbackHost(visited.hostname)) return [];
  if (originProblem(visited.origin) !== undefined) return [];
  return [publicOrigin, visited.origin];
}
