import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { monotonicFactory } from 'ulid';
import { DomainError, errors } from '../domain/errors.ts';
import { jobStream, widgetTokenStream } from '../domain/events.ts';
import { parseStoredEvent } from '../domain/job-model.ts';
import {
  decideWidgetToken,
  evolveWidgetToken,
  type WidgetTokenCommand,
  type WidgetTokenState,
} from '../domain/widget-token.ts';
import { handleCommand, loadStream } from '../eventstore/command-handler.ts';
import type { EventMetadata, EventStore } from '../eventstore/port.ts';
import type { ReadModel } from '../projections/read-model.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import type {
  CreateWidgetTokenRequest,
  WidgetTokenView,
} from './widget-token-schemas.ts';

const newUlid = monotonicFactory();

/** `wt_` and a ULID, a dot, then 32 random bytes in base64url. */
const TOKEN_PATTERN = /^(wt_[0-9A-Z]{26})\.([A-Za-z0-9_-]{43})$/;

/**
 * Optimistic-concurrency retries of a reservation. Reservations of one
 * token are serialised in each process, so only other API processes can
 * make an append lose.
 */
const RESERVATION_RETRIES = 10;

const tokenModel = {
  parse: parseStoredEvent,
  evolve: evolveWidgetToken,
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reports whether a bearer credential has the shape of a widget token. */
export function isWidgetToken(credential: string): boolean {
  return TOKEN_PATTERN.test(credential);
}

/**
 * Issues and checks widget tokens. A token is an id and a secret. The
 * stream `widget-token-{id}` records its scope with the secret's sha256 and
 * counts its jobs, so every API process that shares the event store
 * accepts the token, also after a restart.
 */
export class WidgetTokenService {
  private readonly reservations = new KeyedMutex();
  private readonly now: () => Date;

  constructor(
    private readonly deps: {
      store: EventStore;
      readModel: ReadModel;
      /** Receives the errors the service handles without returning them. */
      logger?: Logger;
      now?: () => Date;
    },
  ) {
    this.now = deps.now ?? (() => new Date());
  }

  async issue(
    workspaceId: string,
    request: CreateWidgetTokenRequest,
    metadata: EventMetadata,
  ): Promise<WidgetTokenView> {
    const tokenId = `wt_${newUlid()}`;
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(
      now.getTime() + request.expiresInSeconds * 1000,
    ).toISOString();

    const result = await this.run(
      tokenId,
      {
        type: 'IssueWidgetToken',
        tokenId,
        workspaceId,
        secretSha256: sha256(secret),
        tools: request.tools,
        origins: request.origins,
        maxJobs: request.maxJobs,
        expiresAt,
      },
      metadata,
      0,
    );
    // The preflight check reads the origins from this process's read model.
    if (result !== undefined) await this.deps.readModel.waitForPosition(result);

    return {
      id: tokenId,
      token: `${tokenId}.${secret}`,
      tools: request.tools,
      origins: request.origins,
      maxJobs: request.maxJobs,
      expiresAt,
    };
  }

  /**
   * Returns the token a credential names, expired or not, or throws 401
   * when no token has that id and secret. Callers check the expiry, so an
   * expired token still gets CORS headers for its own origins.
   */
  async verify(credential: string): Promise<WidgetTokenState> {
    const match = TOKEN_PATTERN.exec(credential);
    const token = match?.[1] ? await this.load(match[1]) : undefined;
    const given = Buffer.from(sha256(match?.[2] ?? ''), 'hex');
    const expected = Buffer.from(token?.secretSha256 ?? '', 'hex');
    if (
      !token ||
      given.length !== expected.length ||
      !timingSafeEqual(given, expected)
    ) {
      throw errors.unauthorized(
        'The widget token is not known. Mint a new one with ' +
          'POST /v1/widget-tokens from your backend.',
      );
    }
    return token;
  }

  async load(tokenId: string): Promise<WidgetTokenState | undefined> {
    const { state } = await loadStream(
      this.deps.store,
      widgetTokenStream(tokenId),
      tokenModel,
    );
    return state;
  }

  /**
   * Runs `create` for a job counted against the token. The job is reserved
   * first, so two creates cannot both take the token's last job, and the
   * reservation is given back when `create` fails and the job does not
   * exist. Reserving the same job again changes nothing, so a retried
   * create counts once.
   */
  async createCounted<T>(
    tokenId: string,
    jobId: string,
    metadata: EventMetadata,
    create: () => Promise<T>,
  ): Promise<T> {
    await this.reservations.run(tokenId, () =>
      this.run(
        tokenId,
        { type: 'ReserveWidgetTokenJob', jobId },
        metadata,
        RESERVATION_RETRIES,
      ),
    );
    try {
      return await create();
    } catch (error) {
      await this.releaseUnusedReservation(tokenId, jobId, error, metadata);
      throw error;
    }
  }

  /**
   * Releases the reservation of a job that does not exist after a failed
   * create. A create that lost to a concurrent request with the same
   * Idempotency-Key keeps it, because the winner created that job. A
   * failed release is logged, so the caller still sees the create's error.
   */
  private async releaseUnusedReservation(
    tokenId: string,
    jobId: string,
    error: unknown,
    metadata: EventMetadata,
  ): Promise<void> {
    const reason = error instanceof DomainError ? error.code : 'create_failed';
    try {
      const created = await this.deps.store.readStream(jobStream(jobId), {
        maxCount: 1,
      });
      if (created.length > 0) return;
      await this.reservations.run(tokenId, () =>
        this.run(
          tokenId,
          { type: 'ReleaseWidgetTokenJob', jobId, reason },
          metadata,
          RESERVATION_RETRIES,
        ),
      );
    } catch (releaseError) {
      this.deps.logger?.error(
        { err: releaseError, tokenId, jobId },
        'releasing a widget token reservation failed',
      );
    }
  }

  /**
   * Returns the origins of the token that created a job, or none for a job
   * of an API key or an unknown job. It reads the event store, not the
   * read model, so a job created through another API process counts.
   */
  async originsOfJob(jobId: string): Promise<readonly string[]> {
    const [created] = await this.deps.store.readStream(jobStream(jobId), {
      maxCount: 1,
    });
    const event = created ? parseStoredEvent(created) : undefined;
    if (event?.type !== 'JobCreated' || event.data.widgetTokenId === null) {
      return [];
    }
    return (await this.load(event.data.widgetTokenId))?.origins ?? [];
  }

  /** Runs a command on a token stream; returns the appended position. */
  private async run(
    tokenId: string,
    command: WidgetTokenCommand,
    metadata: EventMetadata,
    retries: number,
  ): Promise<number | undefined> {
    const now = this.now();
    const result = await handleCommand(
      this.deps.store,
      widgetTokenStream(tokenId),
      tokenModel,
      (state) => decideWidgetToken(command, state, now),
      { metadata, retries },
    );
    return result.position;
  }
}
