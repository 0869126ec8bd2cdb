import { createHash } from 'node:crypto';
import { z } from 'zod';

const options = z.record(z.string(), z.unknown()).default({});

export const createJobRequest = z.strictObject({
  toolSlug: z.string().min(1),
  input: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('file'),
      name: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[^\\/\p{Cc}]+$/u, 'a file name without slashes or controls'),
      contentType: z.string().min(1).max(255),
      sizeBytes: z.number().int().positive(),
      options,
    }),
    z.strictObject({
      kind: z.literal('text'),
      name: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[^\\/\p{Cc}]+$/u, 'a file name without slashes or controls')
        .optional(),
      contentType: z.string().min(1).max(255),
      text: z.string().min(1),
      options,
    }),
  ]),
  deadlineSeconds: z.number().int().positive().optional(),
  maxAttempts: z.number().int().positive().optional(),
});

export type CreateJobRequest = z.infer<typeof createJobRequest>;

/** 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
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
