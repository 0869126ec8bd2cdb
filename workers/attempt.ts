import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ToolDefinition } from '../domain/catalog.ts';
import type { JobState } from '../domain/job-state.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import { inputKey, outputKey, type BlobStorage } from '../storage/port.ts';
import { tryJobCommand } from './job-commands.ts';
import { InvalidInputError, type ToolRunner } from './tool.ts';

export interface AttemptDependencies {
  store: EventStore;
  storage: BlobStorage;
  /**
   * This worker process's own directory, in which each attempt creates its
   * work directory. A later worker removes it if this process dies.
   */
  workRoot: string;
  leaseSeconds: number;
  logger: Logger;
  metadata: EventMetadata;
}

/** Terminal colour codes, ESC [ ... m, which some engine messages carry. */
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Minimum time between two progress events of one attempt. */
const PROGRESS_INTERVAL_MS = 1_000;

function leaseFromNow(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/**
 * Runs one claimed attempt: fetches the input, runs the tool with progress
 * and lease renewal, stores the output, and records the outcome. Resolves
 * when the attempt is over; `controller` aborts it.
 */
export async function runAttempt(
  job: JobState,
  tool: ToolDefinition,
  runner: ToolRunner,
  controller: AbortController,
  deps: AttemptDependencies,
): Promise<void> {
  const { store, storage, logger, metadata } = deps;
  const attempt = job.attempt;
  const log = logger.child({ jobId: job.id, attempt, toolSlug: job.toolSlug });
  let workDir: string;
  try {
    // The worker's directory is made again if something removed it.
    await mkdir(deps.workRoot, { recursive: true });
    workDir = await mkdtemp(join(deps.workRoot, `${job.id}-${attempt}-`));
  } catch (error) {
    // Recorded now, so the job is retried at once instead of when its lease
    // expires, with a reason that names the cause.
    await recordFailure(error, controller, job, deps, log, deps.workRoot);
    return;
  }

  let progress = 0;
  let lastReportAt = Date.now();
  let reporting: Promise<unknown> = Promise.resolve();
  const report = (stage: 'processing' | 'finalizing') => {
    lastReportAt = Date.now();
    reporting = reporting.then(async () => {
      const state = await tryJobCommand(
        store,
        job.id,
        {
          type: 'ReportProgress',
          attempt,
          progress,
          stage,
          leaseExpiresAt: leaseFromNow(deps.leaseSeconds),
        },
        metadata,
      );
      if (!state) controller.abort(new Error('the job moved on'));
    });
  };
  // Renews the lease while the engine reports nothing.
  const heartbeat = setInterval(
    () => {
      if (Date.now() - lastReportAt >= PROGRESS_INTERVAL_MS)
        report('processing');
    },
    Math.max(250, (deps.leaseSeconds * 1000) / 3),
  );
  const deadline = setTimeout(
    () => controller.abort(new Error('deadline exceeded')),
    Math.max(0, Date.parse(job.deadlineAt) - Date.now()),
  );

  let outputWritten = false;
  log.info('attempt started');
  try {
    const inputPath = join(workDir, 'input');
    await storage.download(inputKey(job.id), inputPath);

    const output = await runner.run({
      jobId: job.id,
      attempt,
      input: job.input,
      inputPath,
      options: tool.options.parse(job.input.options),
      workDir,
      signal: controller.signal,
      logger: log,
      reportProgress(value) {
        progress = Math.round(Math.max(progress, Math.min(99, value)));
        if (Date.now() - lastReportAt >= PROGRESS_INTERVAL_MS)
          report('processing');
      },
    });
    controller.signal.throwIfAborted();

    report('finalizing');
    outputWritten = true;
    const stored = await storage.write(
      outputKey(job.id),
      createReadStream(output.path),
    );
    if (stored.sizeBytes === 0 && !output.emptyAllowed) {
      throw new Error(
        `${job.toolSlug} reported success but wrote an empty output`,
      );
    }
    await reporting;
    const finished = await tryJobCommand(
      store,
      job.id,
      {
        type: 'CompleteAttempt',
        attempt,
        output: {
          name: output.name,
          contentType: output.contentType,
          sizeBytes: stored.sizeBytes,
          sha256: stored.sha256,
          metadata: output.metadata,
        },
      },
      metadata,
    );
    if (!finished) {
      await storage.remove(outputKey(job.id));
      log.info('attempt finished after the job moved on; output discarded');
      return;
    }
    log.info({ sizeBytes: stored.sizeBytes }, 'attempt succeeded');
  } catch (error) {
    if (outputWritten) await storage.remove(outputKey(job.id));
    await recordFailure(error, controller, job, deps, log, workDir);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(deadline);
    await reporting.catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Returns an attempt's error message as a client may read it. Engines name
 * the files they read, so the work directory's path is removed. Playwright
 * appends a call log with terminal colour codes, which only the service's
 * log keeps.
 */
export function clientMessage(error: unknown, workDir: string): string {
  const full = error instanceof Error ? error.message : String(error);
  return (full.split('\nCall log:')[0] ?? '')
    .replaceAll(ANSI_ESCAPE, '')
    .replaceAll(`file:${workDir}/`, '')
    .replaceAll(`${workDir}/`, '')
    .trim();
}

async function recordFailure(
  error: unknown,
  controller: AbortController,
  job: JobState,
  deps: AttemptDependencies,
  log: Logger,
  workDir: string,
): Promise<void> {
  if (controller.signal.aborted) {
    const reason = controller.signal.reason as Error | undefined;
    log.info({ reason: reason?.message }, 'attempt aborted');
    if (reason?.message === 'worker shutting down') {
      await tryJobCommand(
        deps.store,
        job.id,
        { type: 'ReleaseAttempt', attempt: job.attempt },
        deps.metadata,
      );
    }
    return;
  }

  const invalid = error instanceof InvalidInputError;
  const message = clientMessage(error, workDir);
  log.error({ err: error, retryable: !invalid }, 'attempt failed');
  await tryJobCommand(
    deps.store,
    job.id,
    {
      type: 'FailAttempt',
      attempt: job.attempt,
      error: { code: invalid ? error.code : 'engine_error', message },
      retryable: !invalid,
    },
    deps.metadata,
  );
}
