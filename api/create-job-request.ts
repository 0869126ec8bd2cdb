import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  findTool,
  type Engine,
  type ToolDefinition,
} from '../domain/catalog.ts';
import { errors } from '../domain/errors.ts';
import type { JobInput } from '../domain/events.ts';
import type { EngineStatus } from '../workers/tool.ts';
import { parseOrThrow } from './validation.ts';

const options = z
  .record(z.string(), z.unknown())
  .default({})
  .meta({
    description:
      "Tool options, checked against the tool's optionsSchema from " +
      'GET /v1/tools/{slug}; the ToolOptions schemas list them per tool.',
  });

// Control and format characters (bidi overrides among them) could disguise
// the name in a download's Content-Disposition.
const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[^\\/\p{Cc}\p{Cf}]+$/u,
    'a file name without slashes, control or format characters',
  )
  .refine((name) => name.trim() !== '', 'a file name that is not blank')
  .refine((name) => !/^\.+$/.test(name), 'a file name that is not only dots')
  .refine((name) => name.isWellFormed(), 'a file name of valid Unicode');

export const createJobRequest = z
  .strictObject({
    toolSlug: z.string().min(1),
    input: z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('file'),
        name: fileName,
        contentType: z.string().min(1).max(255),
        sizeBytes: z.number().int().positive(),
        options,
      }),
      z.strictObject({
        kind: z.literal('text'),
        name: fileName.optional(),
        contentType: z.string().min(1).max(255),
        text: z.string().min(1),
        options,
      }),
    ]),
    deadlineSeconds: z.number().int().positive().optional().meta({
      description: "Lowers the tool's deadlineSeconds, which it may not raise.",
    }),
    maxAttempts: z.number().int().positive().optional().meta({
      description: "Lowers the tool's maxAttempts, which it may not raise.",
    }),
  })
  .meta({ id: 'CreateJobRequest' });

export type CreateJobRequest = z.infer<typeof createJobRequest>;

/** 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export const idempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN)
  .meta({
    description:
      '1 to 255 visible ASCII characters, such as a UUID. The same key ' +
      'with the same request returns the original job (200 and ' +
      'Idempotent-Replayed: true); with a different request it is a 422.',
    example: '3f0e8c4e-8d4b-4a57-9a38-2d7f3c2b9e11',
  });

/** Orders strings by UTF-16 code units, independent of the locale. */
function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => compareCodeUnits(a, b))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the request with its keys sorted, to spot a reused key. */
export function fingerprint(request: CreateJobRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export function hashIdempotencyKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Returns the requested tool, or throws when it is unknown or unavailable. */
export function checkTool(
  request: CreateJobRequest,
  engineStatus: (engine: Engine) => EngineStatus,
): ToolDefinition {
  const tool = findTool(request.toolSlug);
  if (!tool) {
    throw errors.toolNotFound(
      `No tool "${request.toolSlug}". GET /v1/tools lists the tools.`,
    );
  }
  const status = tool.implemented
    ? engineStatus(tool.engine)
    : { available: false, reason: 'the tool is not implemented yet' };
  if (!status.available) {
    throw errors.toolUnavailable(
      `Tool ${tool.slug} is unavailable on this server: ` +
        `${status.reason?.replace(/\.$/, '')}.`,
    );
  }
  return tool;
}

/**
 * Checks the input against the tool's catalog entry and parses its options,
 * applying their defaults.
 */
export function parseInput(
  tool: ToolDefinition,
  request: CreateJobRequest,
): JobInput {
  const { input } = request;
  const contentType = input.contentType.trim().toLowerCase();
  if (!tool.input.contentTypes.includes(contentType)) {
    throw errors.unsupportedContentType(
      `Tool ${tool.slug} does not accept ${input.contentType}; it accepts ` +
        `${tool.input.contentTypes.join(', ')}.`,
    );
  }

  const sizeBytes =
    input.kind === 'file' ? input.sizeBytes : Buffer.byteLength(input.text);
  if (sizeBytes > tool.input.maxSizeBytes) {
    throw errors.inputTooLarge(
      `The input is ${sizeBytes} bytes and tool ${tool.slug} takes at most ` +
        `${tool.input.maxSizeBytes} bytes. Send a smaller file.`,
    );
  }
  if (input.kind === 'text' && !tool.input.inlineText) {
    throw errors.invalidRequest(
      `Tool ${tool.slug} takes no inline text. Send input.kind "file" and ` +
        'upload the file through the upload intent.',
    );
  }
  if (input.kind === 'text' && contentType === 'application/json') {
    try {
      JSON.parse(input.text);
    } catch {
      throw errors.uploadContentInvalid(
        'input.text is declared application/json but is not valid JSON.',
      );
    }
  }

  const limitErrors: string[] = [];
  if (
    request.deadlineSeconds !== undefined &&
    request.deadlineSeconds > tool.deadlineSeconds
  ) {
    limitErrors.push(
      `deadlineSeconds ${request.deadlineSeconds} exceeds the tool's ` +
        `${tool.deadlineSeconds}`,
    );
  }
  if (
    request.maxAttempts !== undefined &&
    request.maxAttempts > tool.maxAttempts
  ) {
    limitErrors.push(
      `maxAttempts ${request.maxAttempts} exceeds the tool's ` +
        `${tool.maxAttempts}`,
    );
  }
  if (limitErrors.length > 0) {
    throw errors.invalidRequest(
      `${limitErrors.join('; ')}. These fields may only lower the defaults.`,
    );
  }

  return {
    kind: input.kind,
    name: input.name ?? defaultTextName(contentType),
    contentType,
    sizeBytes,
    options: parseOrThrow(tool.options, input.options, errors.invalidOptions, {
      prefix: 'input.options',
    }),
  };
}
function defaultTextName(contentType: string): string {
  return contentType === 'application/json' ? 'document.json' : 'document.html';
}
