import { parse } from 'node:path';
import type { Logger } from 'pino';
import type { z } from 'zod';

/** Everything a tool needs to run one attempt of one job. */
export interface ToolRunContext {
  jobId: string;
  attempt: number;
  input: {
    kind: 'file' | 'text';
    name: string;
    contentType: string;
    sizeBytes: number;
  };
  /** Local file holding the input bytes; read-only for the tool. */
  inputPath: string;
  /** Options already parsed by the tool's catalog schema (defaults applied). */
  options: Record<string, unknown>;
  /** Empty directory private to this attempt, removed after it. */
  workDir: string;
  /** Aborted on cancel, deadline or shutdown: stop the engine at once. */
  signal: AbortSignal;
  /** Reports progress from 0 to 100; the caller throttles the log writes. */
  reportProgress(progress: number): void;
  logger: Logger;
}

/** The file a tool produced, inside its `workDir`. */
export interface ToolOutput {
  path: string;
  name: string;
  contentType: string;
  metadata: Record<string, unknown>;
  /**
   * Whether an empty file is a real result (text of pages without text).
   * An empty output of any other tool fails the attempt.
   */
  emptyAllowed?: boolean;
}

export interface ToolRunner {
  slug: string;
  run(context: ToolRunContext): Promise<ToolOutput>;
}

/**
 * The input itself is unusable (corrupt, over a limit, unsupported). The job
 * fails at once with this code instead of being retried.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';

  constructor(
    message: string,
    readonly code = 'invalid_input',
  ) {
    super(message);
  }
}

/**
 * Parses a job's options with its tool's catalog schema, as the API did
 * when it created the job, and applies the defaults. Options that fail the
 * schema reject with InvalidInputError code `invalid_options`. A job
 * created before a check was added can have such options.
 */
export function parseToolOptions<Schema extends z.ZodType>(
  schema: Schema,
  options: Record<string, unknown>,
): z.output<Schema> {
  const result = schema.safeParse(options);
  if (result.success) {
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const path = ['options', ...issue.path.map(String)].join('.');
    return `${path}: ${issue.message}`;
  });
  throw new InvalidInputError(
    `Invalid options: ${problems.join('; ')}`,
    'invalid_options',
  );
}

/** Whether an engine can run here, and why not when it cannot. */
export interface EngineStatus {
  available: boolean;
  reason?: string;
}

/**
 * Names an output after its input: `report.docx` with suffix `.pdf` becomes
 * `report.pdf`. `fallback` replaces an input name without a base name.
 */
export function outputName(
  inputName: string,
  suffix: string,
  fallback = 'output',
): string {
  return `${parse(inputName).name || fallback}${suffix}`;
}
