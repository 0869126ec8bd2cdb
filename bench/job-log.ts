import { createHash } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import {
  jobStream,
  schemaVersionOf,
  workspaceStream,
  type DomainEvent,
} from '../domain/events.ts';
import { decide, type JobCommand } from '../domain/job-decider.ts';
import { evolve, type JobState } from '../domain/job-state.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';

/** Events of one succeeded job: create (3), upload, start, progress, succeed. */
export const EVENTS_PER_JOB = 7;

const newUlid = monotonicFactory();

/** Sizes recorded for every job, close to the lifecycle benchmark's files. */
const INPUT_BYTES = 2_056_140;
const OUTPUT_BYTES = 345_443;
const WORKER_ID = 'bench-host-1234-0a1b2c3d';

/**
 * Appends one `CreditsGranted` per workspace, then `jobs` succeeded
 * `image-compress-api` jobs decided by the real job decider, spread
 * round-robin over the workspaces. Each job's events go in one append, so a
 * job's events sit together in the log and writing stays fast. Returns the
 * number of events of each type.
 */
export async function writeJobLog(
  store: EventStore,
  jobs: number,
  workspaces: number,
): Promise<Record<string, number>> {
  const start = new Date();
  const creditsPerWorkspace = Math.ceil(jobs / workspaces);
  const balances = new Map<string, number>();
  for (let index = 0; index < workspaces; index++) {
    const workspaceId = `ws_bench_${index}`;
    await grantCredits(store, workspaceId, creditsPerWorkspace, start);
    balances.set(workspaceId, creditsPerWorkspace);
  }

  const eventsByType: Record<string, number> = { CreditsGranted: workspaces };
  for (let index = 0; index < jobs; index++) {
    const workspaceId = `ws_bench_${index % workspaces}`;
    const balance = balances.get(workspaceId)!;
    const createdAt = new Date(start.getTime() + index * 100);
    const events = decideSucceededJob(workspaceId, balance, createdAt);
    balances.set(workspaceId, balance - 1);

    await store.appendToStream(
      jobStream(events[0]!.jobId),
      events.map(({ event, metadata }) => ({ ...event, metadata })),
      { expectedRevision: 'no_stream' },
    );
    for (const { event } of events) {
      eventsByType[event.type] = (eventsByType[event.type] ?? 0) + 1;
    }
  }
  return eventsByType;
}

/** Appends the starting credits as the API grants them. */
async function grantCredits(
  store: EventStore,
  workspaceId: string,
  amount: number,
  at: Date,
): Promise<void> {
  const grant: DomainEvent = {
    type: 'CreditsGranted',
    data: {
      at: at.toISOString(),
      workspaceId,
      amount,
      reason: 'starting_credits',
    },
  };
  await store.appendToStream(
    workspaceStream(workspaceId),
    [{ ...grant, metadata: { schemaVersion: 1, actor: 'system' } }],
    { expectedRevision: 'no_stream' },
  );
}

interface DecidedEvent {
  jobId: string;
  event: DomainEvent;
  metadata: EventMetadata;
}

/**
 * Runs a job's commands through the decider as the API and a worker send
 * them, with a clock that starts at `createdAt`.
 */
function decideSucceededJob(
  workspaceId: string,
  balance: number,
  createdAt: Date,
): DecidedEvent[] {
  const jobId = `job_${newUlid(createdAt.getTime())}`;
  const sha256 = (text: string) =>
    createHash('sha256').update(text).digest('hex');
  const later = (ms: number) => new Date(createdAt.getTime() + ms);
  const iso = (ms: number) => later(ms).toISOString();
  const api: EventMetadata = {
    schemaVersion: 1,
    requestId: `req-${jobId}`,
    correlationId: `req-${jobId}`,
    actor: `workspace:${workspaceId}`,
  };
  const worker: EventMetadata = {
    schemaVersion: 1,
    actor: `worker:${WORKER_ID}`,
  };

  // Each step: milliseconds after creation, command, sender's metadata.
  const steps: [number, JobCommand, EventMetadata][] = [
    [0, createCommand(jobId, workspaceId, balance, iso), api],
    [
      400,
      {
        type: 'RecordUpload',
        sizeBytes: INPUT_BYTES,
        sha256: sha256(`${jobId}-input`),
        contentType: 'image/png',
      },
      api,
    ],
    [
      420,
      {
        type: 'StartAttempt',
        workerId: WORKER_ID,
        leaseExpiresAt: iso(30_420),
      },
      worker,
    ],
    [
      900,
      {
        type: 'ReportProgress',
        attempt: 1,
        progress: 0,
        stage: 'finalizing',
        leaseExpiresAt: iso(30_900),
      },
      worker,
    ],
    [
      950,
      {
        type: 'CompleteAttempt',
        attempt: 1,
        output: {
          name: 'source.jpg',
          contentType: 'image/jpeg',
          sizeBytes: OUTPUT_BYTES,
          sha256: sha256(`${jobId}-output`),
          metadata: {
            width: 1000,
            height: 600,
            inputBytes: INPUT_BYTES,
            outputBytes: OUTPUT_BYTES,
            inputFormat: 'png',
          },
        },
      },
      worker,
    ],
  ];

  let state: JobState | undefined;
  const decided: DecidedEvent[] = [];
  for (const [offsetMs, command, metadata] of steps) {
    for (const event of decide(command, state, later(offsetMs))) {
      state = evolve(state, event);
      decided.push({
        jobId,
        event,
        metadata: { ...metadata, schemaVersion: schemaVersionOf(event.type) },
      });
    }
  }
  return decided;
}

function createCommand(
  jobId: string,
  workspaceId: string,
  balance: number,
  iso: (ms: number) => string,
): JobCommand {
  return {
    type: 'CreateJob',
    jobId,
    workspaceId,
    toolSlug: 'image-compress-api',
    input: {
      kind: 'file',
      name: 'source.png',
      contentType: 'image/png',
      sizeBytes: INPUT_BYTES,
      options: { quality: 82, background: '#ffffff' },
    },
    credits: 1,
    balance,
    maxAttempts: 3,
    deadlineAt: iso(120_000),
    retentionSeconds: 86_400,
    uploadIntentExpiresAt: iso(900_000),
  };
}
