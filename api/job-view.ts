import { z } from 'zod';
import {
  failureSchema,
  jobInputSchema,
  jobOutputSchema,
} from '../domain/events.ts';
import type { JobStage, JobState, JobStatus } from '../domain/job-state.ts';
import { isTerminal } from '../domain/job-state.ts';
import type { BlobUrls } from './blob-urls.ts';

const isoTime = z.iso.datetime();

export const JOB_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'canceled',
] as const satisfies readonly JobStatus[];

const JOB_STAGES = [
  'awaiting_upload',
  'ready',
  'retry_scheduled',
  'processing',
  'finalizing',
  'done',
] as const satisfies readonly JobStage[];

export const jobStatusSchema = z.enum(JOB_STATUSES).meta({
  id: 'JobStatus',
  description: 'Lifecycle state. Succeeded, failed and canceled are final.',
});

export const uploadIntentSchema = z
  .object({
    method: z.literal('PUT'),
    url: z.url().meta({
      description:
        'Signed URL; PUT exactly input.sizeBytes bytes to it before ' +
        'expiresAt.',
    }),
    headers: z.object({ 'Content-Type': z.string() }).meta({
      description: 'Headers the PUT must send, with these exact values.',
    }),
    expiresAt: isoTime,
  })
  .meta({ id: 'UploadIntent' });

export const jobViewSchema = z
  .object({
    id: z.string().meta({ example: 'job_01JF8Z5QK00000000000000000' }),
    toolSlug: z.string().meta({ example: 'image-compress-api' }),
    status: jobStatusSchema,
    stage: z.enum(JOB_STAGES).meta({
      description: 'Detail of the status, such as awaiting_upload.',
    }),
    progress: z.number().min(0).max(100),
    attempt: z.number().int().min(0).meta({
      description: 'Attempts claimed so far.',
    }),
    retryCount: z.number().int().min(0).meta({
      description: 'Attempts after the first.',
    }),
    maxAttempts: z.number().int().min(1),
    deadlineAt: isoTime,
    createdAt: isoTime,
    updatedAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    input: jobInputSchema,
    output: jobOutputSchema.nullable().meta({
      description:
        'The output after success; tool-specific facts are in metadata.',
    }),
    retention: z.object({
      inputExpiresAt: isoTime.nullable(),
      outputExpiresAt: isoTime.nullable(),
    }),
    failure: failureSchema.nullable().meta({
      description:
        'Why the job failed; codes include deadline_exceeded, ' +
        'attempts_exhausted, invalid_input, upload_expired and engine_error.',
    }),
    credits: z.object({
      charged: z.number().int().min(0),
      refunded: z.number().int().min(0),
    }),
    closedAt: isoTime.nullable(),
    uploadIntent: uploadIntentSchema.nullable().meta({
      description: 'Present while the job awaits its upload, else null.',
    }),
  })
  .meta({ id: 'Job' });

export type JobView = z.infer<typeof jobViewSchema>;

export const jobPageSchema = z
  .object({
    data: z.array(jobViewSchema),
    nextCursor: z.string().nullable().meta({
      description: 'Cursor of the next page, or null on the last page.',
    }),
  })
  .meta({ id: 'JobPage' });

export type JobPage = z.infer<typeof jobPageSchema>;

export const jobEventSchema = z
  .object({
    type: z.string().meta({ example: 'JobCreated' }),
    revision: z.number().int().min(0).meta({
      description: "Zero-based index of the event in the job's stream.",
    }),
    position: z.number().int().min(1).meta({
      description: 'Position in the global log, strictly increasing.',
    }),
    recordedAt: isoTime,
    data: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()).meta({
      description:
        'schemaVersion, correlationId, causationId, actor and requestId.',
    }),
  })
  .meta({ id: 'JobEvent' });

export const jobEventsSchema = z
  .object({ data: z.array(jobEventSchema) })
  .meta({ id: 'JobEvents' });

export type JobEvents = z.infer<typeof jobEventsSchema>;

export const downloadIntentSchema = z
  .object({
    url: z.url().meta({
      description:
        'Signed URL that serves the output with Content-Disposition: ' +
        'attachment until expiresAt.',
    }),
    expiresAt: isoTime,
    name: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int().min(0),
  })
  .meta({ id: 'DownloadIntent' });

export type DownloadIntent = z.infer<typeof downloadIntentSchema>;

/** The reply to an accepted upload through a signed PUT URL. */
export const uploadReceiptSchema = z
  .object({ id: z.string(), status: jobStatusSchema, stage: z.string() })
  .meta({ id: 'UploadReceipt' });

/** A message of the job's WebSocket stream. */
export const jobStreamMessageSchema = z
  .object({ type: z.literal('job'), job: jobViewSchema })
  .meta({ id: 'JobStreamMessage' });

export type JobStreamMessage = z.infer<typeof jobStreamMessageSchema>;

/** Presents a job as the API returns it. */
export async function presentJob(
  job: JobState,
  urls: BlobUrls,
): Promise<JobView> {
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
            url: await urls.upload(job, job.uploadIntentExpiresAt),
            headers: { 'Content-Type': job.input.contentType },
            expiresAt: job.uploadIntentExpiresAt,
          }
        : null,
  };
}
