import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.ts';
import { jobStream } from '../domain/events.ts';
import { jobModel } from '../domain/job-model.ts';
import { isTerminal, type JobState } from '../domain/job-state.ts';
import { loadStream } from '../eventstore/command-handler.ts';
import type { EventStore } from '../eventstore/port.ts';
import {
  inputKey,
  UPLOADS_PREFIX,
  type ListedBlob,
  type PresignedBlobStorage,
} from '../storage/port.ts';
import type { JobService } from './job-service.ts';
import { contentProblem, sizeProblem } from './upload-checks.ts';

export interface PresignedUploadsOptions {
  storage: PresignedBlobStorage;
  store: EventStore;
  jobs: JobService;
  /** Directory of the local copies being checked. */
  tempDir: string;
  logger: Logger;
  /** Pause between two listings of the uploads, in ms. Default 1000. */
  intervalMs?: number;
}

/** Keys that a presigned upload URL can name: `uploads/job_{ULID}`. */
const UPLOAD_KEY = /^uploads\/job_[0-9A-Z]{26}$/;
/** Repeated failures of the listing are logged at most once a minute. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** Uploads listed per pass; the rest wait for the next one. */
const LIST_LIMIT = 1_000;
/** Uploads checked at the same time. */
const PARALLEL_CHECKS = 4;

/**
 * Turns presigned uploads into job inputs. The object store takes the PUT
 * itself, so the API learns of an upload by listing the uploads prefix. It
 * checks the size and the bytes as its own upload route does, then stores
 * the input and records it, or fails the job with the same refusal.
 *
 * Every API process runs one; when two take the same upload, the job
 * stream's expected revision lets one record it, and the other moves on.
 */
export class PresignedUploads {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopped = false;
  /** Keys that no URL of this service names, each logged once. */
  private readonly ignoredKeys = new Set<string>();
  private failingSince: number | undefined;
  private lastFailureLog = 0;

  constructor(private readonly options: PresignedUploadsOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
  }

  start(): void {
    this.schedule();
  }

  /** Stops listing and waits for the checks under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  /** Lists the waiting uploads once and takes each of them. */
  async takeWaiting(): Promise<void> {
    const { storage } = this.options;
    const waiting = (await storage.list(UPLOADS_PREFIX, LIST_LIMIT)).filter(
      (blob) => this.isUpload(blob.key),
    );
    const takeNext = async (): Promise<void> => {
      for (let blob = waiting.shift(); blob; blob = waiting.shift()) {
        if (this.stopped) return;
        await this.take(blob).catch((error: unknown) => {
          this.options.logger.error(
            { err: error, key: blob.key },
            'presigned upload check failed; retrying on the next pass',
          );
        });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_CHECKS }, takeNext));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.takeWaiting()
        .then(() => this.recovered())
        .catch((error: unknown) => this.failed(error))
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  private isUpload(key: string): boolean {
    if (UPLOAD_KEY.test(key)) return true;
    if (!this.ignoredKeys.has(key)) {
      this.ignoredKeys.add(key);
      this.options.logger.warn(
        { key },
        'object under the uploads prefix ignored: no upload URL names it',
      );
    }
    return false;
  }

  private failed(error: unknown): void {
    const now = Date.now();
    this.failingSince ??= now;
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLog = now;
    this.options.logger.error(
      { err: error, failingSinceMs: now - this.failingSince },
      'listing presigned uploads failed; retrying every pass',
    );
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    this.options.logger.info(
      { failedForMs: Date.now() - this.failingSince },
      'listing presigned uploads works again',
    );
    this.failingSince = undefined;
    this.lastFailureLog = 0;
  }

  private async take(blob: ListedBlob): Promise<void> {
    const { storage, logger } = this.options;
    const jobId = blob.key.slice(UPLOADS_PREFIX.length);
    const state = await this.load(jobId);
    if (!state || state.stage !== 'awaiting_upload' || isTerminal(state)) {
      // Left by a job that was recorded, canceled or expired meanwhile.
      await storage.remove(blob.key);
      logger.info({ jobId }, 'unexpected presigned upload removed');
      return;
    }

    await mkdir(this.options.tempDir, { recursive: true });
    const temporary = join(this.options.tempDir, `${jobId}-${randomUUID()}`);
    try {
      const declared = state.input;
      let problem = sizeProblem(blob.sizeBytes, declared.sizeBytes);
      if (!problem) {
        await storage.download(blob.key, temporary);
        problem = await contentProblem(temporary, declared.contentType);
      }
      if (problem) {
        await this.reject(jobId, problem);
      } else {
        await this.record(
          jobId,
          temporary,
          declared.contentType,
          blob.lastModified,
        );
      }
      await storage.remove(blob.key);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private async reject(jobId: string, problem: DomainError): Promise<void> {
    const { jobs, logger } = this.options;
    try {
      await jobs.run(
        jobId,
        { type: 'RejectUpload', message: problem.detail },
        { actor: 'presigned-upload' },
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Another API process handled this upload first, or the job ended.
      logger.info(
        { jobId, code: error.code },
        'presigned upload already handled',
      );
      return;
    }
    logger.warn({ jobId, code: problem.code }, 'presigned upload rejected');
  }

  private async record(
    jobId: string,
    path: string,
    contentType: string,
    receivedAt: Date,
  ): Promise<void> {
    const { storage, jobs, logger } = this.options;
    // The checked copy is uploaded again instead of copied inside the
    // store, because the client may replace the upload after the check while
    // its presigned URL is still valid. So the input contains the checked bytes.
    const stored = await storage.write(inputKey(jobId), createReadStream(path));
    try {
      const job = await jobs.run(
        jobId,
        {
          type: 'RecordUpload',
          ...stored,
          contentType,
          receivedAt: receivedAt.toISOString(),
        },
        { actor: 'presigned-upload' },
      );
      logger.info({ jobId, sizeBytes: job.input.sizeBytes }, 'input uploaded');
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Another API process recorded the input first, or the intent
      // expired. Only in the second case is the stored input nobody's.
      const state = await this.load(jobId);
      if (state?.stage === 'awaiting_upload') {
        await storage.remove(inputKey(jobId));
      }
      logger.info({ jobId, code: error.code }, 'presigned upload not recorded');
    }
  }

  private async load(jobId: string): Promise<JobState | undefined> {
    const { state } = await loadStream(
      this.options.store,
      jobStream(jobId),
      jobModel,
    );
    return state;
  }
}
