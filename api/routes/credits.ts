import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';

export const creditsSchema = z
  .object({
    balance: z.number().int(),
    entries: z.array(
      z.object({
        jobId: z.string().nullable().meta({
          description: 'The job charged or refunded, or null for a grant.',
        }),
        kind: z.enum(['grant', 'charge', 'refund']),
        amount: z.number().int().min(1).meta({
          description: 'Credits, positive whatever the kind.',
        }),
        at: z.iso.datetime(),
      }),
    ),
  })
  .meta({ id: 'Credits' });

export type Credits = z.infer<typeof creditsSchema>;

export function registerCreditRoutes(
  app: FastifyInstance,
  context: ApiContext,
) {
  app.get('/v1/credits', async (request): Promise<Credits> => {
    const { workspaceId } = request;
    await context.jobs.ensureWorkspace(workspaceId);
    const { queries } = context.readModel;
    return {
      balance: queries.balance(workspaceId) ?? 0,
      entries: queries.ledger(workspaceId),
    };
  });
}
