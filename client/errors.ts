import type { Job, Problem } from './types.ts';

/** Base class of every error the client throws. */
export class BoringKitError extends Error {
  override readonly name: string = 'BoringKitError';
}

/** A problem response (RFC 9457) from the API, or another HTTP error. */
export class ApiError extends BoringKitError {
  override readonly name = 'ApiError';
  /** Stable machine-readable code, such as JOB_NOT_FOUND. */
  readonly code: string;
  readonly status: number;
  /** Explanation that names the bad value and the fix. */
  readonly detail: string;
  readonly title: string;
  readonly type: string;
  readonly errors: Problem['errors'];

  constructor(problem: Problem) {
    super(`${problem.code} (${problem.status}): ${problem.detail}`);
    this.code = problem.code;
    this.status = problem.status;
    this.detail = problem.detail;
    this.title = problem.title;
    this.type = problem.type;
    this.errors = problem.errors;
  }

  /** Whether the API key was missing, unknown or not allowed. */
  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The API could not be reached, or the connection failed or timed out. */
export class NetworkError extends BoringKitError {
  override readonly name = 'NetworkError';
}

/** A job ended failed or canceled where success was expected. */
export class JobFailedError extends BoringKitError {
  override readonly name = 'JobFailedError';

  constructor(readonly job: Job) {
    super(
      job.status === 'canceled'
        ? `Job ${job.id} was canceled.`
        : `Job ${job.id} failed: ${job.failure?.code ?? 'unknown'}: ` +
            `${job.failure?.message ?? 'no reason recorded'}`,
    );
  }
}

/**
 * Builds an ApiError from an error response. A body that is not a problem
 * (a proxy's HTML page, an empty 404) gets the code HTTP_<status>.
 */
export function apiErrorFrom(status: number, text: string): ApiError {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const problem = body as Partial<Problem> | undefined;
  if (problem && typeof problem.code === 'string') {
    return new ApiError({
      type: problem.type ?? 'about:blank',
      title: problem.title ?? '',
      status,
      code: problem.code,
      detail: problem.detail ?? '',
      errors: problem.errors,
    });
  }
  return new ApiError({
    type: 'about:blank',
    title: `HTTP ${status}`,
    status,
    code: `HTTP_${status}`,
    detail:
      text.slice(0, 200) || `The server answered ${status} without a body.`,
  });
}
