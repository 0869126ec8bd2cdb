import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/events.ts';
import { decide, type JobCommand } from '../../domain/job-decider.ts';
import { evolve, type JobState } from '../../domain/job-state.ts';

const T0 = new Date('2026-12-04T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const create: Extract<JobCommand, { type: 'CreateJob' }> = {
  type: 'CreateJob',
  jobId: 'job_1',
  workspaceId: 'ws_a',
  toolSlug: 'image-compress-api',
  input: {
    kind: 'file',
    name: 'a.png',
    contentType: 'image/png',
    sizeBytes: 10,
    options: { quality: 82 },
  },
  credits: 2,
  balance: 10,
  maxAttempts: 2,
  deadlineAt: later(600).toISOString(),
  retentionSeconds: 3600,
  uploadIntentExpiresAt: later(300).toISOString(),
};

function given(...commands: [JobCommand, Date][]): JobState | undefined {
  let state: JobState | undefined;
  for (const [command, now] of commands) {
    for (const event of decide(command, state, now)) {
      state = evolve(state, event);
    }
  }
  return state;
}

const upload: JobCommand = {
  type: 'RecordUpload',
  sizeBytes: 10,
  sha256: 'abc',
  contentType: 'image/png',
};
const start: JobCommand = {
  type: 'StartAttempt',
  workerId: 'w1',
  leaseExpiresAt: later(60).toISOString(),
};

function types(events: DomainEvent[]): string[] {
  return events.map((event) => event.type);
}

function refunded(events: DomainEvent[]): number {
  return events
    .filter((event) => event.type === 'CreditsRefunded')
    .reduce((sum, event) => sum + (event.data as { amount: number }).amount, 0);
}

describe('job decider', () => {
  it('create charges credits and issues an upload intent', () => {
    const events = decide(create, undefined, T0);
    expect(types(events)).toEqual([
      'JobCreated',
      'CreditsCharged',
      'UploadIntentIssued',
    ]);
  });

  it('create with inline input is ready at once', () => {
    const state = given([
      {
        ...create,
        uploadIntentExpiresAt: undefined,
        inlineInput: { sizeBytes: 10, sha256: 'x' },
      },
      T0,
    ]);
    expect(state?.stage).toBe('ready');
  });

  it('create with a short balance is 402', () => {
    expect(() => decide({ ...create, balance: 1 }, undefined, T0)).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_CREDITS', status: 402 }),
    );
  });

  it('create on an existing job conflicts', () => {
    const state = given([create, T0]);
    expect(() => decide(create, state, T0)).toThrow(
      expect.objectContaining({ status: 409 }),
    );
  });

  it('upload after intent expiry is 410', () => {
    const state = given([create, T0]);
    expect(() => decide(upload, state, later(301))).toThrow(
      expect.objectContaining({ code: 'UPLOAD_INTENT_EXPIRED', status: 410 }),
    );
  });

  it('upload makes the job ready', () => {
    const state = given([create, T0], [upload, later(1)]);
    expect(state?.status).toBe('queued');
    expect(state?.stage).toBe('ready');
  });

  it('second upload is rejected', () => {
    const state = given([create, T0], [upload, later(1)]);
    expect(() => decide(upload, state, later(2))).toThrow(
      expect.objectContaining({ code: 'JOB_NOT_AWAITING_UPLOAD' }),
    );
  });

  it('claim before upload is rejected', () => {
    const state = given([create, T0]);
    expect(() => decide(start, state, later(1))).toThrow(
      expect.objectContaining({ status: 409 }),
    );
  });

  it('claim starts attempt one', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    expect(state?.status).toBe('running');
    expect(state?.attempt).toBe(1);
    expect(state?.retryCount).toBe(0);
  });

  it('progress from a stale attempt conflicts', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    const progress: JobCommand = {
      type: 'ReportProgress',
      attempt: 2,
      progress: 50,
      stage: 'processing',
      leaseExpiresAt: later(70).toISOString(),
    };
    expect(() => decide(progress, state, later(3))).toThrow(
      expect.objectContaining({ code: 'JOB_STATE_CONFLICT' }),
    );
  });

  it('expired lease schedules a retry with backoff', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    const events = decide(
      { type: 'ExpireLease', attempt: 1 },
      state,
      later(70),
    );
    expect(types(events)).toEqual(['AttemptFailed']);
    const next = evolve(state, events[0]!);
    expect(next?.stage).toBe('retry_scheduled');
    expect(next?.retryAt).toBe(later(72).toISOString());
  });

  it('retry is not runnable before retryAt', () => {
    const state = given(
      [create, T0],
      [upload, later(1)],
      [start, later(2)],
      [{ type: 'ExpireLease', attempt: 1 }, later(70)],
    );
    expect(() => decide(start, state, later(71))).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    expect(types(decide(start, state, later(72)))).toEqual(['JobStarted']);
  });

  it('last attempt failing exhausts attempts and refunds', () => {
    const state = given(
      [create, T0],
      [upload, later(1)],
      [start, later(2)],
      [{ type: 'ExpireLease', attempt: 1 }, later(70)],
      [start, later(80)],
    );
    const events = decide(
      { type: 'ExpireLease', attempt: 2 },
      state,
      later(200),
    );
    expect(types(events)).toEqual(['JobFailed', 'CreditsRefunded']);
    expect(evolve(state, events[0]!)?.failure?.code).toBe('attempts_exhausted');
    expect(refunded(events)).toBe(2);
  });

  it('released attempts do not count', () => {
    const release = (attempt: number): [JobCommand, Date] => [
      { type: 'ReleaseAttempt', attempt },
      later(10 * attempt + 5),
    ];
    const state = given(
      [create, T0],
      [upload, later(1)],
      [start, later(2)],
      release(1),
      [start, later(20)],
      release(2),
      [start, later(30)],
      release(3),
      [start, later(40)],
    );
    expect(state?.attempt).toBe(4);
    expect(state?.releasedAttempts).toBe(3);
    const events = decide(
      { type: 'ExpireLease', attempt: 4 },
      state,
      later(200),
    );
    expect(types(events)).toEqual(['AttemptFailed']);
  });

  it('release retries at once', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    const events = decide(
      { type: 'ReleaseAttempt', attempt: 1 },
      state,
      later(3),
    );
    const next = evolve(state, events[0]!);
    expect(next?.retryAt).toBe(later(3).toISOString());
    expect(next?.status).toBe('queued');
  });

  it('invalid input fails without retry', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    const events = decide(
      {
        type: 'FailAttempt',
        attempt: 1,
        error: { code: 'invalid_input', message: 'not an image' },
        retryable: false,
      },
      state,
      later(3),
    );
    expect(evolve(state, events[0]!)?.failure?.code).toBe('invalid_input');
    expect(refunded(events)).toBe(2);
  });

  it('success stores output and retention', () => {
    const state = given(
      [create, T0],
      [upload, later(1)],
      [start, later(2)],
      [
        {
          type: 'CompleteAttempt',
          attempt: 1,
          output: {
            name: 'a.jpg',
            contentType: 'image/jpeg',
            sizeBytes: 5,
            sha256: 'y',
            metadata: {},
          },
        },
        later(3),
      ],
    );
    expect(state?.status).toBe('succeeded');
    expect(state?.progress).toBe(100);
    expect(state?.retention.outputExpiresAt).toBe(later(3603).toISOString());
  });

  it('cancel while queued refunds in full', () => {
    const state = given([create, T0]);
    const events = decide({ type: 'CancelJob' }, state, later(1));
    expect(types(events)).toEqual(['JobCanceled', 'CreditsRefunded']);
    expect(refunded(events)).toBe(2);
  });

  it('cancel while running keeps one credit', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    const events = decide({ type: 'CancelJob' }, state, later(3));
    expect(refunded(events)).toBe(1);
  });

  it('cancel of a finished job is 409', () => {
    const state = given([create, T0], [{ type: 'CancelJob' }, later(1)]);
    expect(() => decide({ type: 'CancelJob' }, state, later(2))).toThrow(
      expect.objectContaining({ code: 'JOB_NOT_CANCELABLE', status: 409 }),
    );
  });

  it('close of a running job is 409', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    expect(() => decide({ type: 'CloseJob' }, state, later(3))).toThrow(
      expect.objectContaining({ code: 'JOB_NOT_FINISHED' }),
    );
  });

  it('close twice is a no-op', () => {
    const state = given(
      [create, T0],
      [{ type: 'CancelJob' }, later(1)],
      [{ type: 'CloseJob' }, later(2)],
    );
    expect(state?.closedAt).toBe(later(2).toISOString());
    expect(decide({ type: 'CloseJob' }, state, later(3))).toEqual([]);
  });

  it('deadline fails a running job with a full refund', () => {
    const state = given([create, T0], [upload, later(1)], [start, later(2)]);
    expect(decide({ type: 'ExpireDeadline' }, state, later(599))).toEqual([]);
    const events = decide({ type: 'ExpireDeadline' }, state, later(600));
    expect(evolve(state, events[0]!)?.failure?.code).toBe('deadline_exceeded');
    expect(refunded(events)).toBe(2);
  });

  it('upload expiry fails and refunds', () => {
    const state = given([create, T0]);
    expect(decide({ type: 'ExpireUpload' }, state, later(299))).toEqual([]);
    const events = decide({ type: 'ExpireUpload' }, state, later(301));
    expect(evolve(state, events[0]!)?.failure?.code).toBe('upload_expired');
    expect(refunded(events)).toBe(2);
  });

  it('upload received before the intent expired is recorded late', () => {
    const state = given([create, T0]);
    const late = { ...upload, receivedAt: later(299).toISOString() };
    expect(types(decide(late, state, later(301)))).toEqual(['InputUploaded']);
    expect(() => decide(upload, state, later(301))).toThrow(
      expect.objectContaining({ code: 'UPLOAD_INTENT_EXPIRED' }),
    );
  });

  it('receivedAt after now cannot extend the intent', () => {
    const state = given([create, T0]);
    const future = { ...upload, receivedAt: later(900).toISOString() };
    expect(types(decide(future, state, later(200)))).toEqual(['InputUploaded']);
    expect(() => decide(future, state, later(301))).toThrow(
      expect.objectContaining({ code: 'UPLOAD_INTENT_EXPIRED' }),
    );
  });

  it('rejected upload fails with invalid_input and refunds', () => {
    const state = given([create, T0]);
    const reject: JobCommand = { type: 'RejectUpload', message: 'not a PNG' };
    const events = decide(reject, state, later(1));
    expect(evolve(state, events[0]!)?.failure).toEqual({
      code: 'invalid_input',
      message: 'not a PNG',
      retryable: false,
    });
    expect(refunded(events)).toBe(2);
    const uploaded = given([create, T0], [upload, later(1)]);
    expect(() => decide(reject, uploaded, later(2))).toThrow(
      expect.objectContaining({ code: 'JOB_NOT_AWAITING_UPLOAD' }),
    );
  });

  it('download before success is 409', () => {
    const state = given([create, T0]);
    expect(() =>
      decide(
        { type: 'IssueDownloadIntent', expiresAt: later(9).toISOString() },
        state,
        later(1),
      ),
    ).toThrow(expect.objectContaining({ code: 'JOB_NOT_SUCCEEDED' }));
  });

  it('download after output expiry is 410', () => {
    const state = given(
      [create, T0],
      [upload, later(1)],
      [start, later(2)],
      [
        {
          type: 'CompleteAttempt',
          attempt: 1,
          output: {
            name: 'a',
            contentType: 'image/jpeg',
            sizeBytes: 1,
            sha256: 'z',
            metadata: {},
          },
        },
        later(3),
      ],
      [{ type: 'ExpireRetention', deleted: ['input', 'output'] }, later(4000)],
    );
    expect(state?.deleted.output).toBe(true);
    expect(() =>
      decide(
        { type: 'IssueDownloadIntent', expiresAt: later(4100).toISOString() },
        state,
        later(4001),
      ),
    ).toThrow(expect.objectContaining({ code: 'OUTPUT_EXPIRED', status: 410 }));
  });

  it('commands on a missing job are 404', () => {
    expect(() => decide({ type: 'CancelJob' }, undefined, T0)).toThrow(
      expect.objectContaining({ code: 'JOB_NOT_FOUND', status: 404 }),
    );
  });
});
