import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { findTool, tools, type ToolDefinition } from '../../domain/catalog.ts';
import { errors } from '../../domain/errors.ts';
import type { ApiContext } from '../context.ts';

export const toolViewSchema = z
  .object({
    slug: z.string().meta({ example: 'image-compress-api' }),
    title: z.string(),
    description: z.string(),
    input: z.object({
      contentTypes: z.array(z.string()),
      maxSizeBytes: z.number().int().min(1),
      inlineText: z.boolean().meta({
        description: 'Whether input.kind "text" is accepted.',
      }),
    }),
    output: z.object({ contentType: z.string() }),
    limits: z.record(z.string(), z.number()).meta({
      description: 'Limits beyond the input size, such as maxPages.',
    }),
    optionsSchema: z.record(z.string(), z.unknown()).meta({
      description: 'JSON Schema (draft 2020-12) of input.options.',
    }),
    credits: z.number().int().min(0),
    maxAttempts: z.number().int().min(1),
    deadlineSeconds: z.number().int().min(1),
    retentionSeconds: z.number().int().min(1),
    apiJobCreation: z.enum(['available', 'unavailable']),
    unavailableReason: z.string().optional().meta({
      description: 'Why the tool is unavailable on this server.',
    }),
  })
  .meta({ id: 'Tool' });

export type ToolView = z.infer<typeof toolViewSchema>;

export const toolListSchema = z
  .object({ data: z.array(toolViewSchema) })
  .meta({ id: 'ToolList' });

function presentTool(tool: ToolDefinition, context: ApiContext): ToolView {
  const status = tool.implemented
    ? context.engineStatus(tool.engine)
    : { available: false, reason: 'not implemented yet' };
  return {
    slug: tool.slug,
    title: tool.title,
    description: tool.description,
    input: { ...tool.input, contentTypes: [...tool.input.contentTypes] },
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

/**
 * Registers the catalog routes. Widget tokens may read the whole catalog,
 * which is the same for every workspace and contains no secrets.
 */
export function registerToolRoutes(app: FastifyInstance, context: ApiContext) {
  const widgetToken = { config: { widgetToken: true } };

  app.get('/v1/tools', widgetToken, async () => {
    return { data: tools.map((tool) => presentTool(tool, context)) };
  });

  app.get<{ Params: { slug: string } }>(
    '/v1/tools/:slug',
    widgetToken,
    async (request) => {
      const tool = findTool(request.params.slug);
      if (!tool) {
        throw errors.toolNotFound(
          `No tool "${request.params.slug}". GET /v1/tools lists the tools.`,
        );
      }
      return presentTool(tool, context);
    },
  );
}
