import type { JobState } from '../domain/job-state.ts';
import { isTerminal } from '../domain/job-state.ts';
import type { UrlSigner } from '../storage/signed-urls.ts';

/** Presents a job as the API returns it. */
export function presentJob(job: JobState, signer: UrlSigner) {
  const awaitingUpload =
    job.stage === 'awaiting_upload' &&
    !isTerminal(job) &&
    job.uploadIntentExpiresAt !== null;

  return {
    id: job.id,
    toolSlug: job.toolSlug,
    status: job.status,
    stage: job.stage,
    progress: job.progress,
    attempt: job.attempt,
    retryCount: job.retryCount,
    maxAttempts: job.maxAttempts,
    deadlineAt: job.deadlineAt,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    input: job.input,
    output: job.output,
    retention: job.retention,
    failure: job.failure,
    credits: job.credits,
    closedAt: job.closedAt,
    uploadIntent:
      awaitingUpload && job.uploadIntentExpiresAt
        ? {
            method: 'PUT',
            url: signer.uploadUrl(job.id, job.uploadIntentExpiresAt),
            headers: { 'Content-Type': job.input.contentType },
            expiresAt: job.uploadIntentExpiresAt,
          }
        : null,
  };
}

export type JobView = ReturnType<typeof presentJob>;
