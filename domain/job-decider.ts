import { errors } from './errors.ts';
import type { DomainEvent, JobInput, JobOutput } from './events.ts';
import { isTerminal, type JobState } from './job-state.ts';
import { refundOnCancel } from './credits.ts';

export type JobCommand =
  | {
      type: 'CreateJob';
      jobId: string;
      workspaceId: string;
      toolSlug: string;
      input: JobInput;
      credits: number;
      /** The workspace's balance before this job. */
      balance: number;
      maxAttempts: number;
      deadlineAt: string;
      retentionSeconds: number;
      /** For a file input: when its first upload intent expires. */
      uploadIntentExpiresAt?: string;
      /** For a text input: the stored inline text. */
      inlineInput?: { sizeBytes: number; sha256: string };
      /** The widget token that creates the job; absent for an API key. */
      widgetTokenId?: string;
    }
  | { type: 'IssueUploadIntent'; expiresAt: string }
  | {
      type: 'RecordUpload';
      sizeBytes: number;
      sha256: string;
      contentType: string;
      /**
       * When the store received the bytes, if that was before this command;
       * the upload intent must not have expired by then.
       */
      receivedAt?: string;
    }
  | { type: 'RejectUpload'; message: string }
  | { type: 'StartAttempt'; workerId: string; leaseExpiresAt: string }
  | {
      type: 'ReportProgress';
      attempt: number;
      progress: number;
      stage: 'processing' | 'finalizing';
      leaseExpiresAt: string;
    }
  | {
      type: 'FailAttempt';
      attempt: number;
      error: { code: string; message: string };
      retryable: boolean;
    }
  | { type: 'ExpireLease'; attempt: number }
  | { type: 'ReleaseAttempt'; attempt: number }
  | {
      type: 'CompleteAttempt';
      attempt: number;
      output: JobOutput;
    }
  | { type: 'ExpireDeadline' }
  | { type: 'ExpireUpload' }
  | { type: 'CancelJob' }
  | { type: 'CloseJob' }
  | { type: 'IssueDownloadIntent'; expiresAt: string }
  | { type: 'ExpireRetention'; deleted: ('input' | 'output')[] };

/** Delay before retry number `attempt` (1-based): 2 s, 4 s, 8 s ... 60 s. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(60, 2 ** attempt);
}

function at(now: Date): string {
  return now.toISOString();
}

function addSeconds(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

function requireJob(state: JobState | undefined): JobState {
  if (!state) throw errors.jobNotFound('The job does not exist.');
  return state;
}

function describe(state: JobState): string {
  return `job ${state.id} is ${state.status} (${state.stage})`;
}

/** Returns whether a worker may claim the job now. */
export function isRunnable(state: JobState, now: Date): boolean {
  if (state.status !== 'queued') return false;
  if (state.stage === 'ready') return true;
  return (
    state.stage === 'retry_scheduled' &&
    state.retryAt !== null &&
    Date.parse(state.retryAt) <= now.getTime()
  );
}

function failJob(
  state: JobState,
  now: Date,
  failure: { code: string; message: string; retryable: boolean },
): DomainEvent[] {
  const events: DomainEvent[] = [
    {
      type: 'JobFailed',
      data: { at: at(now), attempt: state.attempt, failure },
    },
  ];
  const refundable = state.credits.charged - state.credits.refunded;
  if (refundable > 0) {
    events.push({
      type: 'CreditsRefunded',
      data: {
        at: at(now),
        workspaceId: state.workspaceId,
        jobId: state.id,
        amount: refundable,
        reason: failure.code,
      },
    });
  }
  return events;
}

function requireAttempt(state: JobState, attempt: number): void {
  if (state.status !== 'running' || state.attempt !== attempt) {
    throw errors.jobStateConflict(
      `Attempt ${attempt} is no longer current: ${describe(state)}.`,
    );
  }
}

function create(
  state: JobState | undefined,
  command: Extract<JobCommand, { type: 'CreateJob' }>,
  now: Date,
): DomainEvent[] {
  if (state) {
    throw errors.jobStateConflict(`Job ${command.jobId} already exists.`);
  }
  if (command.balance < command.credits) {
    throw errors.insufficientCredits(
      `Tool ${command.toolSlug} costs ${command.credits} credits and the ` +
        `workspace has ${command.balance}. Add credits or pick a cheaper tool.`,
    );
  }

  const events: DomainEvent[] = [
    {
      type: 'JobCreated',
      data: {
        at: at(now),
        jobId: command.jobId,
        workspaceId: command.workspaceId,
        toolSlug: command.toolSlug,
        input: command.input,
        maxAttempts: command.maxAttempts,
        deadlineAt: command.deadlineAt,
        retentionSeconds: command.retentionSeconds,
        widgetTokenId: command.widgetTokenId ?? null,
      },
    },
    {
      type: 'CreditsCharged',
      data: {
        at: at(now),
        workspaceId: command.workspaceId,
        jobId: command.jobId,
        amount: command.credits,
      },
    },
  ];

  if (command.inlineInput) {
    events.push({
      type: 'InputUploaded',
      data: {
        at: at(now),
        ...command.inlineInput,
        contentType: command.input.contentType,
      },
    });
  } else if (command.uploadIntentExpiresAt) {
    events.push({
      type: 'UploadIntentIssued',
      data: { at: at(now), expiresAt: command.uploadIntentExpiresAt },
    });
  }
  return events;
}

/**
 * Decides which events a command produces on a job, or throws a
 * `DomainError` when the job's state does not allow it. Pure: `now` is the
 * only clock.
 */
export function decide(
  command: JobCommand,
  current: JobState | undefined,
  now: Date,
): DomainEvent[] {
  if (command.type === 'CreateJob') return create(current, command, now);
  const state = requireJob(current);

  switch (command.type) {
    case 'IssueUploadIntent':
      if (state.stage !== 'awaiting_upload' || isTerminal(state)) {
        throw errors.jobNotAwaitingUpload(
          `No upload is expected: ${describe(state)}.`,
        );
      }
      return [
        {
          type: 'UploadIntentIssued',
          data: { at: at(now), expiresAt: command.expiresAt },
        },
      ];

    case 'RecordUpload': {
      if (state.stage !== 'awaiting_upload' || isTerminal(state)) {
        throw errors.jobNotAwaitingUpload(
          `The input was already received or the job ended: ` +
            `${describe(state)}.`,
        );
      }
      const expiresAt = state.uploadIntentExpiresAt;
      const receivedAt = command.receivedAt
        ? Math.min(Date.parse(command.receivedAt), now.getTime())
        : now.getTime();
      if (!expiresAt || Date.parse(expiresAt) < receivedAt) {
        throw errors.uploadIntentExpired(
          `The upload intent expired at ${expiresAt}. Request a new one ` +
            `with POST /v1/jobs/${state.id}/upload-intent.`,
        );
      }
      return [
        {
          type: 'InputUploaded',
          data: {
            at: at(now),
            sizeBytes: command.sizeBytes,
            sha256: command.sha256,
            contentType: command.contentType,
          },
        },
      ];
    }

    case 'RejectUpload':
      if (state.stage !== 'awaiting_upload' || isTerminal(state)) {
        throw errors.jobNotAwaitingUpload(
          `No upload is expected: ${describe(state)}.`,
        );
      }
      return failJob(state, now, {
        code: 'invalid_input',
        message: command.message,
        retryable: false,
      });

    case 'StartAttempt':
      if (!isRunnable(state, now)) {
        throw errors.jobStateConflict(`Not runnable: ${describe(state)}.`);
      }
      return [
        {
          type: 'JobStarted',
          data: {
            at: at(now),
            attempt: state.attempt + 1,
            workerId: command.workerId,
            leaseExpiresAt: command.leaseExpiresAt,
          },
        },
      ];

    case 'ReportProgress':
      requireAttempt(state, command.attempt);
      return [
        {
          type: 'JobProgressed',
          data: {
            at: at(now),
            attempt: command.attempt,
            progress: Math.max(0, Math.min(100, command.progress)),
            stage: command.stage,
            leaseExpiresAt: command.leaseExpiresAt,
          },
        },
      ];

    case 'FailAttempt':
    case 'ExpireLease': {
      requireAttempt(state, command.attempt);
      const error =
        command.type === 'ExpireLease'
          ? {
              code: 'lease_expired',
              message: `Worker ${state.workerId} stopped renewing its lease.`,
            }
          : command.error;
      const retryable = command.type === 'ExpireLease' || command.retryable;

      if (!retryable) {
        return failJob(state, now, { ...error, retryable: false });
      }
      if (state.attempt - state.releasedAttempts >= state.maxAttempts) {
        return failJob(state, now, {
          code: 'attempts_exhausted',
          message:
            `All ${state.maxAttempts} attempts failed; the last one with ` +
            `${error.code}: ${error.message}`,
          retryable: false,
        });
      }
      return [
        {
          type: 'AttemptFailed',
          data: {
            at: at(now),
            attempt: command.attempt,
            error,
            retryAt: addSeconds(now, retryDelaySeconds(command.attempt)),
          },
        },
      ];
    }

    case 'ReleaseAttempt':
      requireAttempt(state, command.attempt);
      return [
        {
          type: 'AttemptFailed',
          data: {
            at: at(now),
            attempt: command.attempt,
            error: {
              code: 'worker_shutdown',
              message: `Worker ${state.workerId} stopped during the attempt.`,
            },
            retryAt: at(now),
            released: true,
          },
        },
      ];

    case 'CompleteAttempt':
      requireAttempt(state, command.attempt);
      return [
        {
          type: 'JobSucceeded',
          data: {
            at: at(now),
            attempt: command.attempt,
            output: command.output,
            outputExpiresAt: addSeconds(now, state.retentionSeconds),
          },
        },
      ];

    case 'ExpireDeadline':
      if (isTerminal(state) || Date.parse(state.deadlineAt) > now.getTime()) {
        return [];
      }
      return failJob(state, now, {
        code: 'deadline_exceeded',
        message: `The job did not finish by its deadline ${state.deadlineAt}.`,
        retryable: false,
      });

    case 'ExpireUpload': {
      const expiresAt = state.uploadIntentExpiresAt;
      if (
        state.stage !== 'awaiting_upload' ||
        isTerminal(state) ||
        (expiresAt !== null && Date.parse(expiresAt) > now.getTime())
      ) {
        return [];
      }
      return failJob(state, now, {
        code: 'upload_expired',
        message: `No input was uploaded before ${expiresAt}.`,
        retryable: false,
      });
    }

    case 'CancelJob': {
      if (isTerminal(state)) {
        throw errors.jobNotCancelable(
          `Job ${state.id} is already ${state.status}; only queued or ` +
            `running jobs can be canceled.`,
        );
      }
      const previousStatus = state.status === 'running' ? 'running' : 'queued';
      const events: DomainEvent[] = [
        { type: 'JobCanceled', data: { at: at(now), previousStatus } },
      ];
      const refund = refundOnCancel(state.credits, previousStatus);
      if (refund > 0) {
        events.push({
          type: 'CreditsRefunded',
          data: {
            at: at(now),
            workspaceId: state.workspaceId,
            jobId: state.id,
            amount: refund,
            reason: 'canceled',
          },
        });
      }
      return events;
    }

    case 'CloseJob':
      if (state.closedAt) return [];
      if (!isTerminal(state)) {
        throw errors.jobNotFinished(
          `Job ${state.id} is ${state.status}; cancel it or wait until it ` +
            `finishes before closing it.`,
        );
      }
      return [{ type: 'JobClosed', data: { at: at(now) } }];

    case 'IssueDownloadIntent':
      if (state.status !== 'succeeded' || !state.output) {
        throw errors.jobNotSucceeded(
          `Job ${state.id} is ${state.status}; only a succeeded job has ` +
            `an output to download.`,
        );
      }
      if (
        state.deleted.output ||
        (state.retention.outputExpiresAt !== null &&
          Date.parse(state.retention.outputExpiresAt) <= now.getTime())
      ) {
        throw errors.outputExpired(
          `The output of job ${state.id} expired at ` +
            `${state.retention.outputExpiresAt} and was deleted. Run a ` +
            `new job to convert the file again.`,
        );
      }
      return [
        {
          type: 'DownloadIntentIssued',
          data: { at: at(now), expiresAt: command.expiresAt },
        },
      ];

    case 'ExpireRetention': {
      const deleted = command.deleted.filter((blob) => !state.deleted[blob]);
      if (deleted.length === 0) return [];
      return [{ type: 'OutputExpired', data: { at: at(now), deleted } }];
    }
  }
}
