import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';

export const healthSchema = z
  .object({ status: z.string().meta({ example: 'ok' }) })
  .meta({ id: 'Health' });

type Health = z.infer<typeof healthSchema>;

export function registerHealthRoute(app: FastifyInstance, context: ApiContext) {
  app.get('/healthz', async (_request, reply): Promise<Health> => {
    if (context.readModel.stopped) {
      reply.code(503);
      return { status: 'read model stopped' };
    }
    return { status: 'ok' };
  });
}
