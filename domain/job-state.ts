import type { DomainEvent, JobFailure, JobInput, JobOutput } from './events.ts';

export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export type JobStage =
  | 'awaiting_upload'
  | 'ready'
  | 'retry_scheduled'
  | 'processing'
  | 'finalizing'
  | 'done';

/** A job as its stream's events build it; times are ISO 8601 strings. */
export interface JobState {
  id: string;
  workspaceId: string;
  toolSlug: string;
  status: JobStatus;
  stage: JobStage;
  progress: number;
  attempt: number;
  retryCount: number;
  /** Attempts that stopping workers gave back; they do not count. */
  releasedAttempts: number;
  maxAttempts: number;
  deadlineAt: string;
  retentionSeconds: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  input: JobInput;
  inputUploaded: boolean;
  output: JobOutput | null;
  retention: { inputExpiresAt: string | null; outputExpiresAt: string | null };
  deleted: { input: boolean; output: boolean };
  failure: JobFailure | null;
  credits: { charged: number; refunded: number };
  closedAt: string | null;
  /** Expiry of the newest upload intent while the job awaits its upload. */
  uploadIntentExpiresAt: string | null;
  workerId: string | null;
  leaseExpiresAt: string | null;
  retryAt: string | null;
  /**
   * The widget token that created the job. Absent for jobs of API keys, so
   * their stored state is the same as before widget tokens existed.
   */
  widgetTokenId?: string;
}

export const TERMINAL_STATUSES: readonly JobStatus[] = [
  'succeeded',
  'failed',
  'canceled',
];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATUSES.includes(state.status);
}

function addSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}

function finish(
  state: JobState,
  at: string,
  status: JobStatus,
  failure: JobFailure | null,
): JobState {
  const inputExpiresAt = state.inputUploaded
    ? addSeconds(at, state.retentionSeconds)
    : null;
  return {
    ...state,
    status,
    stage: 'done',
    failure,
    finishedAt: at,
    updatedAt: at,
    uploadIntentExpiresAt: null,
    leaseExpiresAt: null,
    retryAt: null,
    retention: { ...state.retention, inputExpiresAt },
  };
}

/**
 * Folds one event into the job state. `state` is undefined before the
 * stream's first event; events of other kinds leave it unchanged.
 */
export function evolve(
  state: JobState | undefined,
  event: DomainEvent,
): JobState | undefined {
  if (event.type === 'JobCreated') {
    const { data } = event;
    return {
      id: data.jobId,
      workspaceId: data.workspaceId,
      toolSlug: data.toolSlug,
      status: 'queued',
      stage: 'awaiting_upload',
      progress: 0,
      attempt: 0,
      retryCount: 0,
      releasedAttempts: 0,
      maxAttempts: data.maxAttempts,
      deadlineAt: data.deadlineAt,
      retentionSeconds: data.retentionSeconds,
      createdAt: data.at,
      updatedAt: data.at,
      startedAt: null,
      finishedAt: null,
      input: data.input,
      inputUploaded: false,
      output: null,
      retention: { inputExpiresAt: null, outputExpiresAt: null },
      deleted: { input: false, output: false },
      failure: null,
      credits: { charged: 0, refunded: 0 },
      closedAt: null,
      uploadIntentExpiresAt: null,
      workerId: null,
      leaseExpiresAt: null,
      retryAt: null,
      ...(data.widgetTokenId === null
        ? {}
        : { widgetTokenId: data.widgetTokenId }),
    };
  }
  if (!state) return state;

  const at = event.data.at;
  switch (event.type) {
    case 'UploadIntentIssued':
      return { ...state, uploadIntentExpiresAt: event.data.expiresAt };
    case 'InputUploaded':
      return {
        ...state,
        stage: 'ready',
        inputUploaded: true,
        uploadIntentExpiresAt: null,
        updatedAt: at,
      };
    case 'JobStarted':
      return {
        ...state,
        status: 'running',
        stage: 'processing',
        progress: 0,
        attempt: event.data.attempt,
        retryCount: event.data.attempt - 1,
        startedAt: state.startedAt ?? at,
        workerId: event.data.workerId,
        leaseExpiresAt: event.data.leaseExpiresAt,
        retryAt: null,
        updatedAt: at,
      };
    case 'JobProgressed':
      return {
        ...state,
        stage: event.data.stage,
        progress: event.data.progress,
        leaseExpiresAt: event.data.leaseExpiresAt,
        updatedAt: at,
      };
    case 'AttemptFailed':
      return {
        ...state,
        status: 'queued',
        stage: 'retry_scheduled',
        progress: 0,
        workerId: null,
        leaseExpiresAt: null,
        retryAt: event.data.retryAt,
        releasedAttempts:
          state.releasedAttempts + (event.data.released ? 1 : 0),
        updatedAt: at,
      };
    case 'JobSucceeded': {
      const done = finish(state, at, 'succeeded', null);
      return {
        ...done,
        progress: 100,
        output: event.data.output,
        retention: {
          ...done.retention,
          outputExpiresAt: event.data.outputExpiresAt,
        },
      };
    }
    case 'JobFailed':
      return finish(state, at, 'failed', event.data.failure);
    case 'JobCanceled':
      return finish(state, at, 'canceled', null);
    case 'CreditsCharged':
      return {
        ...state,
        credits: {
          ...state.credits,
          charged: state.credits.charged + event.data.amount,
        },
      };
    case 'CreditsRefunded':
      return {
        ...state,
        credits: {
          ...state.credits,
          refunded: state.credits.refunded + event.data.amount,
        },
      };
    case 'OutputExpired':
      return {
        ...state,
        deleted: {
          input: state.deleted.input || event.data.deleted.includes('input'),
          output: state.deleted.output || event.data.deleted.includes('output'),
        },
        updatedAt: at,
      };
    case 'JobClosed':
      return { ...state, closedAt: at, updatedAt: at };
    default:
      return state;
  }
}
