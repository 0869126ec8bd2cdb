import {
  ApiError,
  type Job,
  type TransferProgress,
} from '../../client/index.ts';
import {
  StepFilter,
  transferPercent,
  type CancelReason,
  type Progress,
} from './progress.ts';

/**
 * Writes progress for programs: one JSON object a line, each with an
 * `event` field, at the same 25% steps as the plain lines. The README
 * lists the events.
 */
export class JsonProgress implements Progress {
  private readonly steps = new StepFilter();

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {}

  private write(event: string, fields: Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify({ event, ...fields })}\n`);
  }

  created(job: Job): void {
    this.write('created', { jobId: job.id });
  }

  upload(progress: TransferProgress): void {
    this.transfer('upload', progress);
  }

  download(progress: TransferProgress): void {
    this.transfer('download', progress);
  }

  job(job: Job): void {
    const percent = Math.round(job.progress);
    const kind = `job:${job.status}:${job.stage}`;
    if (!this.steps.isNewStep(kind, percent)) return;
    this.write('job', {
      jobId: job.id,
      status: job.status,
      stage: job.stage,
      progress: percent,
    });
  }

  canceling(jobId: string, reason: CancelReason): void {
    this.write('canceling', { jobId, reason });
  }

  canceled(job: Job, reason: CancelReason): void {
    this.write('canceled', {
      jobId: job.id,
      reason,
      creditsRefunded: job.credits.refunded,
    });
  }

  cancelFailed(jobId: string, reason: CancelReason, error: unknown): void {
    this.write('cancel_failed', {
      jobId,
      reason,
      code: error instanceof ApiError ? error.code : (error as Error).name,
      detail:
        error instanceof ApiError ? error.detail : (error as Error).message,
    });
  }

  end(): void {
    // Each line is complete when written, so there is no bar to end.
  }

  private transfer(event: string, progress: TransferProgress): void {
    const percent = transferPercent(progress);
    if (!this.steps.isNewStep(event, percent)) return;
    this.write(event, { ...progress, percent });
  }
}
