import type { EventStoreDbClient } from './eventstoredb-client.ts';

/** Settings for subscribing again after a dropped connection. */
export interface EventStoreDbReconnectOptions {
  /** Consecutive failed attempts before the subscription errors. Default 10. */
  maxAttempts?: number;
  /** First delay in ms, doubled per further attempt. Default 100. */
  initialDelayMs?: number;
  /** Upper bound of the delay in ms. Default 5 000. */
  maxDelayMs?: number;
  /** Called before each attempt, e.g. to log it. */
  onReconnect?(attempt: ReconnectAttempt): void;
}

/** One scheduled attempt to subscribe again. */
export interface ReconnectAttempt {
  /** 1 for the first attempt after a failure. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Options of `openEventStoreDbStore`. */
export interface EventStoreDbStoreOptions {
  /**
   * Server URL, e.g. 'esdb://127.0.0.1:2113?tls=false'. There is no default
   * server. Error messages name its hosts, never its credentials.
   */
  connectionString: string;
  /**
   * Deadline of each client call in ms: an append, a stream read, a head
   * read, or a whole readAll. Subscriptions have none. Default 5 000.
   */
  deadlineMs?: number;
  reconnect?: EventStoreDbReconnectOptions;
  /**
   * Client to use instead of one built from `connectionString`, e.g. a fake
   * in tests. `close()` disposes it.
   */
  client?: EventStoreDbClient;
}

export type ReconnectSettings = Required<
  Omit<EventStoreDbReconnectOptions, 'onReconnect'>
> &
  Pick<EventStoreDbReconnectOptions, 'onReconnect'>;
