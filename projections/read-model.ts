import { Subject, type Subscription } from 'rxjs';
import type { JobState, JobStatus } from '../domain/job-state.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { createBatchApplier, readCheckpoint } from './apply.ts';
import type { ReadModelDatabase } from './database.ts';
import { createReadModelQueries } from './queries.ts';

const MAX_BATCH = 500;

/** A change the projection committed, for live updates. */
export interface JobChange {
  jobId: string;
  job: JobState;
}

/**
 * The read model of one process: follows the log from its checkpoint,
 * applies events in batches, serves queries, and notifies listeners of
 * changed jobs.
 */
export class ReadModel {
  readonly changes = new Subject<JobChange>();
  readonly queries: ReturnType<typeof createReadModelQueries>;
  private readonly applyBatch: ReturnType<typeof createBatchApplier>;
  private position: number;
  private pending: RecordedEvent[] = [];
  private flushScheduled = false;
  private subscription: Subscription | undefined;
  private waiters: {
    position: number;
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  /** Set once the projection stopped on an error; waits then reject. */
  private failure: Error | undefined;
  private caughtUp = false;
  private caughtUpWaiters: (() => void)[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly db: ReadModelDatabase,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.applyBatch = createBatchApplier(db);
    this.queries = createReadModelQueries(db);
    this.position = readCheckpoint(db);
  }

  /** Whether the projection stopped on an error and serves stale data. */
  get stopped(): boolean {
    return this.failure !== undefined;
  }

  get checkpoint(): number {
    return this.position;
  }

  /** Starts following the log; resolves once it has caught up. */
  start(): Promise<void> {
    this.subscription = this.store
      .subscribeToAll({ fromPosition: this.position })
      .subscribe({
        next: (message) => {
          if (message.kind === 'event') {
            this.pending.push(message.event);
            if (this.pending.length >= MAX_BATCH) this.flush();
            else this.scheduleFlush();
          } else {
            this.flush();
            this.markCaughtUp();
          }
        },
        error: (error: unknown) => this.fail(error),
      });
    return this.waitUntilCaughtUp();
  }

  waitUntilCaughtUp(): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** Resolves once every event up to `position` has been applied. */
  waitForPosition(position: number): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) =>
      this.waiters.push({ position, resolve, reject }),
    );
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.flush();
    this.changes.complete();
  }

  /** Stops projecting; requests waiting for a position get the error. */
  private fail(error: unknown): void {
    this.onError(error);
    this.subscription?.unsubscribe();
    this.failure = new Error('The read model stopped following the log', {
      cause: error,
    });
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  private markCaughtUp(): void {
    this.caughtUp = true;
    for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];

    let result;
    try {
      result = this.applyBatch(batch);
    } catch (error) {
      // The transaction rolled back and the checkpoint did not move, so the
      // batch is applied again when the process restarts.
      this.fail(error);
      return;
    }
    this.position = result.position;

    for (const jobId of result.changedJobIds) {
      const job = this.queries.getJob(jobId);
      if (job) this.changes.next({ jobId, job });
    }
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.position > this.position) return true;
      waiter.resolve();
      return false;
    });
  }
}

export type { JobStatus, ReadModelDatabase };
