import { ApiError, JobFailedError, NetworkError } from '../../client/index.ts';

/** Exit codes of the boringkit command, as the README lists them. */
export const ExitCode = {
  ok: 0,
  /** An unexpected error, or differences found by replay --verify. */
  failure: 1,
  /** A wrong command line, or a file that cannot be read or written. */
  usage: 2,
  /** The API rejected the request with a problem other than auth. */
  api: 3,
  /** The API key is missing, unknown or not allowed (401 or 403). */
  auth: 4,
  /** The API could not be reached, or a connection failed or timed out. */
  network: 5,
  /** The job ended failed or canceled. */
  jobFailed: 6,
  /** Ctrl-C: a running convert canceled its job first. */
  interrupted: 130,
} as const;

/** A wrong command line: unknown command or flag, missing argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An input file that cannot be read, or an output that cannot be written. */
export class FileError extends Error {
  override readonly name = 'FileError';
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof FileError) {
    return ExitCode.usage;
  }
  if (error instanceof ApiError) {
    return error.isAuthError ? ExitCode.auth : ExitCode.api;
  }
  if (error instanceof NetworkError) return ExitCode.network;
  if (error instanceof JobFailedError) return ExitCode.jobFailed;
  return ExitCode.failure;
}
