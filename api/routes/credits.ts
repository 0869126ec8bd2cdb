import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

export function registerCreditRoutes(
  app: FastifyInstance,
  context: ApiContext,
) {
  app.get('/v1/credits', async (request) => {
    const { workspaceId } = request;
    await context.jobs.ensureWorkspace(workspaceId);
    const { queries } = context.readModel;
    return {
      balance: queries.balance(workspaceId) ?? 0,
      entries: queries.ledger(workspaceId),
    };
  });
}
