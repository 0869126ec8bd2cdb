import { z } from 'zod';
import type { oas31, ZodOpenApiResponsesObject } from 'zod-openapi';
import { errors, type DomainError } from '../../domain/errors.ts';
import { frameworkErrors, problemSchema } from '../problems.ts';

/** A coded error factory from domain/errors.ts or api/problems.ts. */
export type ProblemFactory = (detail: string) => DomainError;

/**
 * Problems every authenticated /v1 operation can return. A widget token is
 * checked for its origin and expiry on every route, also on those that
 * then reject it.
 */
export const AUTHENTICATED: readonly ProblemFactory[] = [
  errors.unauthorized,
  errors.widgetTokenExpired,
  errors.originNotAllowed,
  frameworkErrors.invalidUrl,
  frameworkErrors.internalError,
];

/** Problems of an operation that only API keys may call. */
export const API_KEY_ONLY: readonly ProblemFactory[] = [
  errors.widgetTokenNotAllowed,
];

/** Security of an operation that widget tokens may call too. */
export const WIDGET_TOKEN_SECURITY: oas31.SecurityRequirementObject[] = [
  { bearerAuth: [] },
  { widgetToken: [] },
];

/** Problems of an operation with a JSON request body. */
export const JSON_BODY: readonly ProblemFactory[] = [
  frameworkErrors.invalidJson,
  frameworkErrors.unsupportedMediaType,
  frameworkErrors.bodyTooLarge,
];

/** Problems of an operation with a job id in its path. */
export const JOB_PATH: readonly ProblemFactory[] = [
  errors.jobNotFound,
  frameworkErrors.pathParameterTooLong,
];

/**
 * Builds an operation's problem responses, one for each status, with a
 * schema whose `code` lists exactly the codes of that status.
 */
export function problemResponses(
  ...factories: (ProblemFactory | readonly ProblemFactory[])[]
): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, Map<string, string>>();
  for (const factory of factories.flat()) {
    const { status, code, title } = factory('');
    const codes = byStatus.get(status) ?? new Map<string, string>();
    codes.set(code, title);
    byStatus.set(status, codes);
  }

  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const [first, ...rest] = [...codes.keys()];
    if (first === undefined) continue;
    responses[`${status}` as `4${string}`] = {
      description: [...codes]
        .map(([code, title]) => `${code}: ${title}.`)
        .join(' '),
      content: {
        'application/problem+json': {
          schema: problemSchema.extend({ code: z.enum([first, ...rest]) }),
        },
      },
    };
  }
  return responses;
}
