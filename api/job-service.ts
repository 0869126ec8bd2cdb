import { Readable } from 'node:stream';
import { monotonicFactory } from 'ulid';
import type { Engine, ToolDefinition } from '../domain/catalog.ts';
import { errors } from '../domain/errors.ts';
import {
  idempotencyStream,
  jobStream,
  schemaVersionOf,
  workspaceStream,
  type DomainEvent,
  type JobInput,
} from '../domain/events.ts';
import { decide, type JobCommand } from '../domain/job-decider.ts';
import { jobModel, parseStoredEvent } from '../domain/job-model.ts';
import type { JobState } from '../domain/job-state.ts';
import { handleCommand, loadStream } from '../eventstore/command-handler.ts';
import { WrongExpectedVersion } from '../eventstore/errors.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import type { ReadModel } from '../projections/read-model.ts';
import { inputKey, type BlobStorage } from '../storage/port.ts';
import type { EngineStatus } from '../workers/tool.ts';
import type { Caller } from './auth.ts';
import {
  checkTool,
  createJobRequest,
  parseInput,
  fingerprint,
  hashIdempotencyKey,
  type CreateJobRequest,
} from './create-job-request.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { parseOrThrow } from './validation.ts';
import type { WidgetTokenService } from './widget-tokens.ts';

export interface JobServiceConfig {
  startingCredits: number;
  uploadIntentSeconds: number;
  downloadIntentSeconds: number;
  /** Caps every tool's retention, in seconds. */
  maxRetentionSeconds?: number;
}

export interface JobServiceDependencies {
  store: EventStore;
  storage: BlobStorage;
  readModel: ReadModel;
  widgetTokens: WidgetTokenService;
  config: JobServiceConfig;
  engineStatus: (engine: Engine) => EngineStatus;
  now?: () => Date;
}

const newUlid = monotonicFactory();

export function newJobId(): string {
  return `job_${newUlid()}`;
}

/**
 * Whole seconds, rounded up so no time is lost, so that signed URLs carry
 * exactly the recorded expiry.
 */
function secondsFromNow(now: Date, seconds: number): string {
  return new Date(
    Math.ceil(now.getTime() / 1000) * 1000 + seconds * 1000,
  ).toISOString();
}

const reservationModel = {
  parse: parseStoredEvent,
  evolve: (_state: DomainEvent | undefined, event: DomainEvent) => event,
};

/**
 * The application layer of the API: validates requests against the catalog,
 * runs commands on job streams, and returns jobs once the read model shows
 * them, so a client reads its own writes.
 */
export class JobService {
  private readonly workspaceLocks = new KeyedMutex();
  private readonly grantedWorkspaces = new Set<string>();
  private readonly now: () => Date;

  constructor(private readonly deps: JobServiceDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Grants the starting credits on a workspace's first request. */
  async ensureWorkspace(workspaceId: string): Promise<void> {
    if (this.grantedWorkspaces.has(workspaceId)) return;
    if (this.deps.readModel.queries.balance(workspaceId) === undefined) {
      try {
        const result = await this.deps.store.appendToStream(
          workspaceStream(workspaceId),
          [
            {
              type: 'CreditsGranted',
              data: {
                at: this.now().toISOString(),
                workspaceId,
                amount: this.deps.config.startingCredits,
                reason: 'starting_credits',
              },
              metadata: {
                schemaVersion: schemaVersionOf('CreditsGranted'),
                actor: 'system',
              },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
        await this.deps.readModel.waitForPosition(result.position);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion)) throw error;
        const head = await this.deps.store.headPosition();
        await this.deps.readModel.waitForPosition(head);
      }
    }
    this.grantedWorkspaces.add(workspaceId);
  }

  /**
   * Returns a job the caller may see: one of its workspace, and for a
   * widget token one that the token created. Others are 404.
   */
  async getJob(caller: Caller, jobId: string): Promise<JobState> {
    // Another API process may have created the job a moment ago, before
    // this process's read model applied it; the log has it already.
    const job =
      this.deps.readModel.queries.getJob(jobId) ?? (await this.readJob(jobId));
    if (!job || job.workspaceId !== caller.workspaceId) {
      throw errors.jobNotFound(
        `No job ${jobId} in this workspace. Check the id; jobs of other ` +
          'workspaces are not visible.',
      );
    }
    const token = caller.widgetToken;
    if (token && job.widgetTokenId !== token.id) {
      throw errors.jobNotFound(
        `No job ${jobId} for widget token ${token.id}. A widget token ` +
          'reaches only the jobs it created.',
      );
    }
    return job;
  }

  /** Creates a job, or returns the original one for a replayed key. */
  async createJob(
    caller: Caller,
    body: unknown,
    idempotencyKey: string | undefined,
    metadata: EventMetadata,
  ): Promise<{ job: JobState; replayed: boolean }> {
    const request = parseOrThrow(createJobRequest, body, errors.invalidRequest);
    // An unknown slug fails with the catalog's error before the token's scope
    // is checked.
    const tool = checkTool(request, this.deps.engineStatus);
    const token = caller.widgetToken;
    if (token && !token.tools.includes(request.toolSlug)) {
      throw errors.widgetTokenToolNotAllowed(
        `Widget token ${token.id} may create jobs for ` +
          `${token.tools.join(', ')}, not ${request.toolSlug}. Mint a token ` +
          `with "${request.toolSlug}" in tools.`,
      );
    }
    const input = parseInput(tool, request);

    if (!idempotencyKey) {
      const job = await this.create(
        caller,
        newJobId(),
        tool,
        request,
        input,
        metadata,
      );
      return { job, replayed: false };
    }

    // A widget token's keys are its own, so another credential of the
    // workspace that reuses a key cannot receive the token's job, or the
    // token another credential's job.
    const stream = idempotencyStream(
      caller.workspaceId,
      hashIdempotencyKey(
        token ? `${token.id}\n${idempotencyKey}` : idempotencyKey,
      ),
    );
    const requestFingerprint = fingerprint(request);
    const jobId = await this.reserveKey(stream, requestFingerprint, metadata);

    const existing = await this.readJob(jobId);
    if (existing) return { job: existing, replayed: true };

    try {
      const job = await this.create(
        caller,
        jobId,
        tool,
        request,
        input,
        metadata,
      );
      return { job, replayed: false };
    } catch (error) {
      // Another request with the same key created the job first.
      const winner = await this.readJob(jobId);
      if (winner) return { job: winner, replayed: true };
      throw error;
    }
  }

  private async reserveKey(
    stream: string,
    requestFingerprint: string,
    metadata: EventMetadata,
  ): Promise<string> {
    for (;;) {
      const { state: reservation } = await loadStream(
        this.deps.store,
        stream,
        reservationModel,
      );
      if (reservation?.type === 'IdempotencyKeyReserved') {
        if (reservation.data.fingerprint !== requestFingerprint) {
          throw errors.idempotencyKeyReused(
            'This Idempotency-Key was first used with a different request ' +
              `(job ${reservation.data.jobId}). Use a new key for a new ` +
              'request, or resend the original request unchanged.',
          );
        }
        return reservation.data.jobId;
      }

      const jobId = newJobId();
      try {
        await this.deps.store.appendToStream(
          stream,
          [
            {
              type: 'IdempotencyKeyReserved',
              data: {
                at: this.now().toISOString(),
                jobId,
                fingerprint: requestFingerprint,
              },
              metadata: {
                ...metadata,
                schemaVersion: schemaVersionOf('IdempotencyKeyReserved'),
              },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
        return jobId;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion)) throw error;
      }
    }
  }

  private async readJob(jobId: string): Promise<JobState | undefined> {
    const { state } = await loadStream(
      this.deps.store,
      jobStream(jobId),
      jobModel,
    );
    if (!state) return undefined;
    const head = await this.deps.store.headPosition();
    await this.deps.readModel.waitForPosition(head);
    return this.deps.readModel.queries.getJob(jobId) ?? state;
  }

  private async create(
    caller: Caller,
    jobId: string,
    tool: ToolDefinition,
    request: CreateJobRequest,
    input: JobInput,
    metadata: EventMetadata,
  ): Promise<JobState> {
    const { workspaceId, widgetToken } = caller;
    const now = this.now();
    const deadlineSeconds = request.deadlineSeconds ?? tool.deadlineSeconds;
    const deadlineAt = secondsFromNow(now, deadlineSeconds);
    const uploadSeconds = Math.min(
      this.deps.config.uploadIntentSeconds,
      deadlineSeconds,
    );

    const createCommand = (
      balance: number,
      inlineInput?: { sizeBytes: number; sha256: string },
    ): JobCommand => ({
      type: 'CreateJob',
      jobId,
      workspaceId,
      toolSlug: tool.slug,
      input,
      credits: tool.credits,
      balance,
      maxAttempts: request.maxAttempts ?? tool.maxAttempts,
      deadlineAt,
      retentionSeconds: Math.min(
        tool.retentionSeconds,
        this.deps.config.maxRetentionSeconds ?? Infinity,
      ),
      uploadIntentExpiresAt: inlineInput
        ? undefined
        : secondsFromNow(now, uploadSeconds),
      inlineInput,
      widgetTokenId: widgetToken?.id,
    });
    const balance = () => this.deps.readModel.queries.balance(workspaceId) ?? 0;

    // A first decision before the inline input is stored means a refused
    // request (402) leaves no blob behind and counts against no widget
    // token. The lock below decides again on the current balance.
    await this.ensureWorkspace(workspaceId);
    decide(createCommand(balance()), undefined, now);

    const storeInputAndAppend = async () => {
      let inlineInput: { sizeBytes: number; sha256: string } | undefined;
      if (request.input.kind === 'text') {
        const text = Buffer.from(request.input.text, 'utf8');
        inlineInput = await this.deps.storage.write(
          inputKey(jobId),
          Readable.from([text]),
        );
      }
      return this.workspaceLocks.run(workspaceId, () =>
        this.run(jobId, createCommand(balance(), inlineInput), metadata, {
          retries: 0,
        }),
      );
    };
    if (!widgetToken) return storeInputAndAppend();
    return this.deps.widgetTokens.createCounted(
      widgetToken.id,
      jobId,
      metadata,
      storeInputAndAppend,
    );
  }

  /** Runs a command on a job stream and waits for the read model. */
  async run(
    jobId: string,
    command: JobCommand,
    metadata: EventMetadata,
    options: { retries?: number } = {},
  ): Promise<JobState> {
    const now = this.now();
    const result = await handleCommand(
      this.deps.store,
      jobStream(jobId),
      jobModel,
      (state) => decide(command, state, now),
      { metadata, retries: options.retries },
    );
    if (result.position !== undefined) {
      await this.deps.readModel.waitForPosition(result.position);
    }
    const job = this.deps.readModel.queries.getJob(jobId) ?? result.state;
    if (!job) throw errors.jobNotFound(`No job ${jobId}.`);
    return job;
  }

  /** Runs a command on a job the caller may see. */
  async command(
    caller: Caller,
    jobId: string,
    command: JobCommand,
    metadata: EventMetadata,
  ): Promise<JobState> {
    await this.getJob(caller, jobId);
    return this.run(jobId, command, metadata);
  }

  async issueUploadIntent(
    caller: Caller,
    jobId: string,
    metadata: EventMetadata,
  ): Promise<JobState> {
    const job = await this.getJob(caller, jobId);
    const now = this.now();
    const remaining = Math.floor(
      (Date.parse(job.deadlineAt) - now.getTime()) / 1000,
    );
    const seconds = Math.min(this.deps.config.uploadIntentSeconds, remaining);
    if (seconds <= 0) {
      throw errors.jobStateConflict(
        `Job ${jobId} passed its deadline ${job.deadlineAt}; create a new job.`,
      );
    }
    return this.run(
      jobId,
      { type: 'IssueUploadIntent', expiresAt: secondsFromNow(now, seconds) },
      metadata,
    );
  }

  async issueDownloadIntent(
    caller: Caller,
    jobId: string,
    metadata: EventMetadata,
  ): Promise<{ job: JobState; expiresAt: string }> {
    await this.getJob(caller, jobId);
    const expiresAt = secondsFromNow(
      this.now(),
      this.deps.config.downloadIntentSeconds,
    );
    const job = await this.run(
      jobId,
      { type: 'IssueDownloadIntent', expiresAt },
      metadata,
    );
    return { job, expiresAt };
  }
}
