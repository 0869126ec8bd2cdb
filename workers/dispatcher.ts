import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { findTool } from '../domain/catalog.ts';
import {
  JOB_STREAM_PREFIX,
  schemaVersionOf,
  type DomainEvent,
} from '../domain/events.ts';
import { decide, isRunnable } from '../domain/job-decider.ts';
import { parseStoredEvent } from '../domain/job-model.ts';
import { evolve, type JobState } from '../domain/job-state.ts';
import { WrongExpectedVersion } from '../eventstore/errors.ts';
import type {
  EventMetadata,
  EventStore,
  RecordedEvent,
} from '../eventstore/port.ts';
import type { BlobStorage } from '../storage/port.ts';
import { runAttempt } from './attempt.ts';
import { Supervisor } from './supervisor.ts';
import type { ToolRunner } from './tool.ts';
import { createWorkerDirectory } from './work-directories.ts';

export interface DispatcherOptions {
  store: EventStore;
  storage: BlobStorage;
  runners: ReadonlyMap<string, ToolRunner>;
  workerId: string;
  /** Attempts this process runs at once. */
  concurrency: number;
  leaseSeconds: number;
  /**
   * Directory that worker processes, on this host or others, may share.
   * Each worker creates its own directory in it for the attempts' work
   * directories, and removes those of this host's dead workers on start.
   */
  workRoot: string;
  logger: Logger;
  /** How often the supervisor sweeps leases, deadlines and retention. */
  supervisorIntervalMs?: number;
  /** How long `stop` lets running attempts finish before aborting them. */
  shutdownGraceMs?: number;
}

interface TrackedJob {
  state: JobState;
  revision: number;
}

/**
 * Follows the log for runnable jobs and claims them by appending
 * `JobStarted` at the revision it read: among any number of workers exactly
 * one append wins and the others move on. It aborts its attempts when their
 * job moves on (cancel, deadline, lease expiry).
 */
export class Dispatcher {
  readonly jobs = new Map<string, TrackedJob>();
  readonly active = new Map<string, AbortController>();
  private readonly running = new Set<Promise<void>>();
  private readonly supervisor: Supervisor;
  private readonly metadata: EventMetadata;
  private subscription: Subscription | undefined;
  /** This process's directory under `workRoot`, set by `start`. */
  private workDir: string | undefined;
  private stopping = false;
  private tickQueued = false;
  private caughtUp = false;

  constructor(private readonly options: DispatcherOptions) {
    this.metadata = { actor: `worker:${options.workerId}` };
    this.supervisor = new Supervisor({
      store: options.store,
      storage: options.storage,
      jobs: this.jobs,
      logger: options.logger,
      metadata: this.metadata,
      intervalMs: options.supervisorIntervalMs ?? 1_000,
      onTick: () => this.scheduleTick(),
    });
  }

  /**
   * Creates this worker's work directory, then follows the log; resolves
   * once it has caught up.
   */
  async start(): Promise<void> {
    const { logger, workerId, concurrency, workRoot } = this.options;
    logger.info({ workerId, concurrency }, 'worker starting');
    this.workDir = await createWorkerDirectory(workRoot, logger);
    logger.info({ workerId, workDir: this.workDir }, 'work directory created');
    return new Promise((resolve, reject) => {
      this.subscription = this.options.store
        .subscribeToAll({ filter: { streamPrefixes: [JOB_STREAM_PREFIX] } })
        .subscribe({
          next: (message) => {
            if (message.kind === 'event') {
              this.track(message.event);
              return;
            }
            this.caughtUp = true;
            this.supervisor.start();
            this.scheduleTick();
            logger.info({ workerId, jobs: this.jobs.size }, 'worker caught up');
            resolve();
          },
          error: (error: unknown) => {
            logger.error(
              { err: error, workerId },
              'worker subscription failed',
            );
            reject(error as Error);
          },
        });
    });
  }

  /** Stops claiming new attempts; running ones go on. */
  stopClaiming(): void {
    this.stopping = true;
  }

  /**
   * Stops claiming, gives running attempts `shutdownGraceMs` to finish,
   * then aborts the rest and waits for them. The log is followed until
   * then, so a cancel still reaches a draining attempt.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const { logger, workerId } = this.options;
    if (this.running.size > 0) {
      logger.info(
        { workerId, attempts: this.running.size },
        'worker draining running attempts',
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.options.shutdownGraceMs ?? 10_000);
        }),
      ]);
      clearTimeout(timer);
    }

    this.subscription?.unsubscribe();
    this.supervisor.stop();
    for (const controller of this.active.values()) {
      controller.abort(new Error('worker shutting down'));
    }
    await Promise.allSettled([...this.running]);
    await this.removeWorkDir();
    this.options.logger.info(
      { workerId: this.options.workerId },
      'worker stopped',
    );
  }

  private async removeWorkDir(): Promise<void> {
    if (this.workDir === undefined) return;
    const { logger, workerId } = this.options;
    try {
      await rm(this.workDir, { recursive: true, force: true });
    } catch (error) {
      // The next worker to start on this host removes it.
      logger.error(
        { err: error, workerId, dir: this.workDir },
        'failed to remove the work directory',
      );
    }
  }

  private track(recorded: RecordedEvent): void {
    const event: DomainEvent | undefined = parseStoredEvent(recorded);
    if (!event) return;
    const jobId = recorded.streamId.slice(JOB_STREAM_PREFIX.length);
    const state = evolve(this.jobs.get(jobId)?.state, event);
    if (!state) return;
    this.jobs.set(jobId, { state, revision: recorded.revision });

    const controller = this.active.get(jobId);
    if (
      controller &&
      (state.status !== 'running' || state.workerId !== this.options.workerId)
    ) {
      controller.abort(new Error(`the job is now ${state.status}`));
    }
    if (this.supervisor.isSettled(state)) this.jobs.delete(jobId);
    if (this.caughtUp) this.scheduleTick();
  }

  private scheduleTick(): void {
    if (this.tickQueued || this.stopping) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      void this.claimRunnable();
    });
  }

  private async claimRunnable(): Promise<void> {
    const now = new Date();
    const candidates = [...this.jobs.values()]
      .filter(
        ({ state }) =>
          isRunnable(state, now) &&
          !this.active.has(state.id) &&
          this.options.runners.has(state.toolSlug),
      )
      .sort((a, b) => (a.state.id < b.state.id ? -1 : 1));

    for (const candidate of candidates) {
      if (this.stopping || this.active.size >= this.options.concurrency) return;
      await this.claim(candidate);
    }
  }

  private async claim({ state, revision }: TrackedJob): Promise<void> {
    const { store, workerId, leaseSeconds, logger } = this.options;
    const now = new Date();
    const events = decide(
      {
        type: 'StartAttempt',
        workerId,
        leaseExpiresAt: new Date(
          now.getTime() + leaseSeconds * 1000,
        ).toISOString(),
      },
      state,
      now,
    );

    const controller = new AbortController();
    this.active.set(state.id, controller);
    try {
      await store.appendToStream(
        `${JOB_STREAM_PREFIX}${state.id}`,
        events.map((event) => ({
          type: event.type,
          data: event.data,
          metadata: {
            ...this.metadata,
            schemaVersion: schemaVersionOf(event.type),
            correlationId: state.id,
          },
        })),
        { expectedRevision: revision },
      );
    } catch (error) {
      this.active.delete(state.id);
      if (error instanceof WrongExpectedVersion) return;
      logger.error({ err: error, jobId: state.id }, 'claim failed');
      return;
    }

    let claimed = state;
    for (const event of events) claimed = evolve(claimed, event) ?? claimed;
    this.runClaimed(claimed, controller);
  }

  private runClaimed(job: JobState, controller: AbortController): void {
    const { store, storage, leaseSeconds, logger } = this.options;
    const tool = findTool(job.toolSlug);
    const runner = this.options.runners.get(job.toolSlug);
    if (!tool || !runner) {
      // claimRunnable only picks jobs whose tool this worker runs.
      throw new Error(`no runner for tool ${job.toolSlug}`);
    }
    if (this.workDir === undefined) {
      // Claims start once `start` has caught up, after creating it.
      throw new Error(
        'the work directory is missing because start has not run',
      );
    }
    const run = runAttempt(job, tool, runner, controller, {
      store,
      storage,
      workRoot: this.workDir,
      leaseSeconds,
      logger,
      metadata: { ...this.metadata, correlationId: job.id },
    })
      .catch((error: unknown) =>
        logger.error(
          { err: error, jobId: job.id, attempt: job.attempt },
          'attempt crashed',
        ),
      )
      .finally(() => {
        this.active.delete(job.id);
        this.running.delete(run);
        this.scheduleTick();
      });
    this.running.add(run);
  }
}
