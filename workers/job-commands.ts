import { DomainError } from '../domain/errors.ts';
import { jobStream } from '../domain/events.ts';
import { decide, type JobCommand } from '../domain/job-decider.ts';
import { jobModel } from '../domain/job-model.ts';
import type { JobState } from '../domain/job-state.ts';
import { handleCommand } from '../eventstore/command-handler.ts';
import { WrongExpectedVersion } from '../eventstore/errors.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';

/**
 * Runs a command on a job stream for a worker. Returns the new state, or
 * undefined when the job's state no longer allows the command (another
 * worker, the supervisor or a client got there first): for a worker that is
 * an expected outcome, not an error.
 */
export async function tryJobCommand(
  store: EventStore,
  jobId: string,
  command: JobCommand,
  metadata: EventMetadata,
  now = new Date(),
): Promise<JobState | undefined> {
  try {
    const result = await handleCommand(
      store,
      jobStream(jobId),
      jobModel,
      (state) => decide(command, state, now),
      { metadata, retries: 2 },
    );
    return result.state;
  } catch (error) {
    if (error instanceof DomainError && error.status === 409) return undefined;
    if (error instanceof WrongExpectedVersion) return undefined;
    throw error;
  }
}
