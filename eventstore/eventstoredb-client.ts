import type {
  AllStreamResolvedEvent,
  AppendResult as ClientAppendResult,
  AppendToStreamOptions,
  JSONEventData,
  ReadAllOptions as ClientReadAllOptions,
  ReadStreamOptions as ClientReadStreamOptions,
  ResolvedEvent,
  SubscribeToAllOptions as ClientSubscribeToAllOptions,
} from '@eventstore/db-client';

/** A read of the client: events as an async iterable that can be cancelled. */
export interface ClientRead<E> extends AsyncIterable<E> {
  cancel(): Promise<void>;
}

/** A catch-up subscription of the client: a Node stream in object mode. */
export interface ClientSubscription {
  /** Events received but not yet emitted as 'data'. */
  readonly readableLength: number;
  on(event: 'data', listener: (resolved: AllStreamResolvedEvent) => void): this;
  /** 'caughtUp' comes only from servers that send CaughtUp (23.10+). */
  on(event: 'caughtUp' | 'end', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  unsubscribe(): Promise<void>;
}

/**
 * The methods of @eventstore/db-client 6.2.1's `EventStoreDBClient` that
 * this adapter calls, so that tests can pass a fake.
 */
export interface EventStoreDbClient {
  appendToStream(
    streamName: string,
    events: JSONEventData[],
    options: AppendToStreamOptions,
  ): Promise<ClientAppendResult>;
  readStream(
    streamName: string,
    options: ClientReadStreamOptions,
  ): ClientRead<ResolvedEvent>;
  readAll(options: ClientReadAllOptions): ClientRead<AllStreamResolvedEvent>;
  subscribeToAll(options: ClientSubscribeToAllOptions): ClientSubscription;
  dispose(): Promise<void>;
}
