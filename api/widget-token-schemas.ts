import { z } from 'zod';
import { findTool } from '../domain/catalog.ts';
import { originProblem } from '../domain/widget-token.ts';

/** Lifetime of a widget token when the request names none, in seconds. */
export const DEFAULT_WIDGET_TOKEN_SECONDS = 15 * 60;
export const MAX_WIDGET_TOKEN_SECONDS = 24 * 60 * 60;
export const DEFAULT_WIDGET_TOKEN_JOBS = 10;
export const MAX_WIDGET_TOKEN_JOBS = 1_000;
const MAX_ORIGINS = 20;

const toolSlug = z.string().superRefine((slug, context) => {
  if (findTool(slug)) return;
  context.addIssue({
    code: 'custom',
    message: `No tool "${slug}". GET /v1/tools lists the tool slugs.`,
  });
});

const origin = z
  .string()
  .max(2048)
  .superRefine((value, context) => {
    const problem = originProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description:
      'An origin exactly as browsers send it in the Origin header: ' +
      'scheme, host and a port other than the default, without a path. ' +
      'Wildcards and "null" are rejected.',
    example: 'https://shop.example',
  });

/** Removes repeated entries, keeping the first of each. */
const unique = (values: string[]) => [...new Set(values)];

export const createWidgetTokenRequest = z
  .strictObject({
    tools: z
      .array(toolSlug)
      .min(1)
      .max(100)
      .transform(unique)
      .meta({
        description: 'Slugs of the tools the token may create jobs for.',
        example: ['image-compress-api'],
      }),
    origins: z
      .array(origin)
      .min(1)
      .max(MAX_ORIGINS)
      .transform(unique)
      .meta({
        description:
          'Origins of the pages that may use the token. Requests with an ' +
          'Origin header not in this list are rejected, and only these ' +
          'origins get CORS headers.',
      }),
    maxJobs: z
      .number()
      .int()
      .min(1)
      .max(MAX_WIDGET_TOKEN_JOBS)
      .default(DEFAULT_WIDGET_TOKEN_JOBS)
      .meta({
        description:
          'Jobs the token may create in all. Replays of an ' +
          'Idempotency-Key and jobs that were never created do not count.',
      }),
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_WIDGET_TOKEN_SECONDS)
      .default(DEFAULT_WIDGET_TOKEN_SECONDS)
      .meta({
        description:
          'Lifetime of the token in seconds: 900 (15 minutes) by default, ' +
          'at most 86400 (24 hours).',
      }),
  })
  .meta({ id: 'CreateWidgetTokenRequest' });

export type CreateWidgetTokenRequest = z.infer<typeof createWidgetTokenRequest>;

export const widgetTokenSchema = z
  .object({
    id: z.string().meta({
      description: 'Token id, which is not secret: it appears in job events.',
      example: 'wt_01JF8Z5QK00000000000000000',
    }),
    token: z.string().meta({
      description:
        'The bearer credential for the widget: the id, a dot and a secret. ' +
        'It is shown once and the server keeps only its hash.',
    }),
    tools: z.array(z.string()),
    origins: z.array(z.string()),
    maxJobs: z.number().int().min(1),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'WidgetToken' });

export type WidgetTokenView = z.infer<typeof widgetTokenSchema>;
