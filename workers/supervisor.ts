import type { Logger } from 'pino';
import type { JobCommand } from '../domain/job-decider.ts';
import { isTerminal, type JobState } from '../domain/job-state.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import { inputKey, outputKey, type BlobStorage } from '../storage/port.ts';
import { tryJobCommand } from './job-commands.ts';

export interface SupervisorOptions {
  store: EventStore;
  storage: BlobStorage;
  /** The dispatcher's view of every job that may still need work. */
  jobs: ReadonlyMap<string, { state: JobState }>;
  logger: Logger;
  metadata: EventMetadata;
  intervalMs: number;
  /** Called after each sweep, so retries that came due are claimed. */
  onTick: () => void;
}

function passed(iso: string | null, now: number): boolean {
  return iso !== null && Date.parse(iso) <= now;
}

/**
 * Turns time into events: expired leases into retries (or failures once
 * attempts run out), jobs past their deadline or upload expiry into
 * failures, and inputs and outputs past retention into deleted blobs and
 * `OutputExpired`. Every worker runs one; the job streams' optimistic
 * concurrency keeps their decisions from doubling up.
 */
export class Supervisor {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly options: SupervisorOptions) {}

  start(): void {
    this.timer ??= setInterval(
      () => void this.sweep(),
      this.options.intervalMs,
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Returns whether the job needs nothing more from any worker. */
  isSettled(state: JobState): boolean {
    return (
      isTerminal(state) &&
      (!state.inputUploaded || state.deleted.input) &&
      (!state.output || state.deleted.output)
    );
  }

  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      for (const { state } of [...this.options.jobs.values()]) {
        const command = this.due(state, now);
        if (command) await this.apply(state, command);
      }
    } finally {
      this.sweeping = false;
      this.options.onTick();
    }
  }

  private due(state: JobState, now: number): JobCommand | undefined {
    if (isTerminal(state)) return this.dueRetention(state, now);
    // The first upload intent expires with the deadline at the latest, so
    // a job still waiting for its input fails as upload_expired.
    if (
      state.stage === 'awaiting_upload' &&
      passed(state.uploadIntentExpiresAt, now)
    ) {
      return { type: 'ExpireUpload' };
    }
    if (passed(state.deadlineAt, now)) return { type: 'ExpireDeadline' };
    if (state.status === 'running' && passed(state.leaseExpiresAt, now)) {
      return { type: 'ExpireLease', attempt: state.attempt };
    }
    return undefined;
  }

  private dueRetention(state: JobState, now: number): JobCommand | undefined {
    const deleted: ('input' | 'output')[] = [];
    if (
      state.inputUploaded &&
      !state.deleted.input &&
      passed(state.retention.inputExpiresAt, now)
    ) {
      deleted.push('input');
    }
    if (
      state.output &&
      !state.deleted.output &&
      passed(state.retention.outputExpiresAt, now)
    ) {
      deleted.push('output');
    }
    return deleted.length > 0
      ? { type: 'ExpireRetention', deleted }
      : undefined;
  }

  private async apply(state: JobState, command: JobCommand): Promise<void> {
    const { logger, storage } = this.options;
    const log = logger.child({ jobId: state.id, attempt: state.attempt });
    try {
      if (command.type === 'ExpireRetention') {
        for (const blob of command.deleted) {
          await storage.remove(
            blob === 'input' ? inputKey(state.id) : outputKey(state.id),
          );
        }
      }
      const next = await tryJobCommand(this.options.store, state.id, command, {
        ...this.options.metadata,
        correlationId: state.id,
      });
      if (next && next.updatedAt !== state.updatedAt) {
        log.info(
          { command: command.type, status: next.status, stage: next.stage },
          'supervisor moved job',
        );
      }
    } catch (error) {
      log.error(
        { err: error, command: command.type },
        'supervisor command failed',
      );
    }
  }
}
