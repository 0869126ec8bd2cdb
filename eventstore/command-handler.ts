import { schemaVersionOf } from '../domain/events.ts';
import { WrongExpectedVersion } from './errors.ts';
import type { EventMetadata, EventStore, RecordedEvent } from './port.ts';

export interface StreamEvent {
  type: string;
  data: unknown;
}

/** Parsing and folding rules for a stream's recorded events. */
export interface StreamModel<State, Event extends StreamEvent> {
  parse(recorded: RecordedEvent): Event | undefined;
  evolve(state: State | undefined, event: Event): State | undefined;
}

export interface CommandResult<State, Event> {
  state: State | undefined;
  newEvents: Event[];
  /** The stream's revision after the command; -1 when it has no events. */
  revision: number;
  /** Global position of the last appended event, or undefined for none. */
  position: number | undefined;
}

/** Reads a stream and folds it into state, with its current revision. */
export async function loadStream<State, Event extends StreamEvent>(
  store: EventStore,
  streamId: string,
  model: StreamModel<State, Event>,
): Promise<{ state: State | undefined; revision: number }> {
  const recorded = await store.readStream(streamId);
  let state: State | undefined;
  for (const event of recorded) {
    const parsed = model.parse(event);
    if (parsed) state = model.evolve(state, parsed);
  }
  return { state, revision: recorded.length - 1 };
}

/**
 * Runs a command against a stream with optimistic concurrency: load, decide,
 * append at the revision read. When another writer got in between, the
 * command is decided again on the new state, up to `retries` times. A race
 * lost after that throws `WrongExpectedVersion`.
 */
export async function handleCommand<State, Event extends StreamEvent>(
  store: EventStore,
  streamId: string,
  model: StreamModel<State, Event>,
  decide: (state: State | undefined) => Event[],
  options: { metadata?: EventMetadata; retries?: number } = {},
): Promise<CommandResult<State, Event>> {
  const retries = options.retries ?? 3;

  for (let round = 0; ; round++) {
    const { state, revision } = await loadStream(store, streamId, model);
    const newEvents = decide(state);
    if (newEvents.length === 0) {
      return { state, newEvents, revision, position: undefined };
    }

    try {
      const result = await store.appendToStream(
        streamId,
        newEvents.map((event) => ({
          type: event.type,
          data: event.data,
          metadata: {
            ...options.metadata,
            schemaVersion: schemaVersionOf(event.type),
          },
        })),
        { expectedRevision: revision < 0 ? 'no_stream' : revision },
      );
      let next = state;
      for (const event of newEvents) next = model.evolve(next, event);
      return {
        state: next,
        newEvents,
        revision: result.nextExpectedRevision,
        position: result.position,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion) || round >= retries) {
        throw error;
      }
    }
  }
}
