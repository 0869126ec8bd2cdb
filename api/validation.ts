import type { z } from 'zod';
import { DomainError, type FieldError } from '../domain/errors.ts';

export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/**
 * Parses `value` with `schema`, or throws the error `toError` makes from a
 * summary of the field problems. `prefix` starts every field path; `root`
 * names the value itself in the summary (`body`, `query`).
 */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  toError: (detail: string, errors: FieldError[]) => DomainError,
  { prefix = '', root = 'body' }: { prefix?: string; root?: string } = {},
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;

  const errors = fieldErrors(result.error, prefix);
  const summary = errors
    .map((error) => `${error.path || `(${root})`}: ${error.message}`)
    .join('; ');
  throw toError(summary, errors);
}
