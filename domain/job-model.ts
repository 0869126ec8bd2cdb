import { parseEvent, type DomainEvent } from './events.ts';
import { evolve, type JobState } from './job-state.ts';

/** Parses a stored event given its type, data and metadata. */
export function parseStoredEvent(recorded: {
  type: string;
  data: unknown;
  metadata: { schemaVersion?: number };
}): DomainEvent | undefined {
  return parseEvent(
    recorded.type,
    recorded.data,
    recorded.metadata.schemaVersion ?? 1,
  );
}

/** The job stream's model for command handling and projections. */
export const jobModel = {
  parse: parseStoredEvent,
  evolve: (state: JobState | undefined, event: DomainEvent) =>
    evolve(state, event),
};
