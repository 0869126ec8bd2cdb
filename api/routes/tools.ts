import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { findTool, tools, type ToolDefinition } from '../../domain/catalog.ts';
import { errors } from '../../domain/errors.ts';
import type { ApiContext } from '../context.ts';

function presentTool(tool: ToolDefinition, context: ApiContext) {
  const status = tool.implemented
    ? context.engineStatus(tool.engine)
    : { available: false, reason: 'not implemented yet' };
  return {
    slug: tool.slug,
    title: tool.title,
    description: tool.description,
    input: tool.input,
    output: tool.output,
    limits: tool.limits,
    optionsSchema: z.toJSONSchema(tool.options, { io: 'input' }),
    credits: tool.credits,
    maxAttempts: tool.maxAttempts,
    deadlineSeconds: tool.deadlineSeconds,
    retentionSeconds: tool.retentionSeconds,
    apiJobCreation: status.available ? 'available' : 'unavailable',
    ...(status.available ? {} : { unavailableReason: status.reason }),
  };
}

export function registerToolRoutes(app: FastifyInstance, context: ApiContext) {
  app.get('/v1/tools', async (request) => {
    context.apiKeys.authenticate(request);
    return { data: tools.map((tool) => presentTool(tool, context)) };
  });

  app.get<{ Params: { slug: string } }>('/v1/tools/:slug', async (request) => {
    context.apiKeys.authenticate(request);
    const tool = findTool(request.params.slug);
    if (!tool) {
      throw errors.toolNotFound(
        `No tool "${request.params.slug}". GET /v1/tools lists the tools.`,
      );
    }
    return presentTool(tool, context);
  });
}
