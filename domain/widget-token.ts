import { errors } from './errors.ts';
import type { DomainEvent } from './events.ts';

/**
 * A widget token as its stream `widget-token-{id}` builds it: the scope an
 * API key granted, and the jobs counted against `maxJobs`.
 */
export interface WidgetTokenState {
  id: string;
  workspaceId: string;
  /** sha256 (hex) of the token's secret part. */
  secretSha256: string;
  tools: string[];
  origins: string[];
  maxJobs: number;
  expiresAt: string;
  /** Jobs reserved and not released, oldest first. */
  jobIds: string[];
}

export type WidgetTokenCommand =
  | {
      type: 'IssueWidgetToken';
      tokenId: string;
      workspaceId: string;
      secretSha256: string;
      tools: string[];
      origins: string[];
      maxJobs: number;
      expiresAt: string;
    }
  | { type: 'ReserveWidgetTokenJob'; jobId: string }
  | { type: 'ReleaseWidgetTokenJob'; jobId: string; reason: string };

export function isWidgetTokenExpired(
  token: { expiresAt: string },
  now: Date,
): boolean {
  return Date.parse(token.expiresAt) <= now.getTime();
}

/** Folds one event of a token stream; other events leave it unchanged. */
export function evolveWidgetToken(
  state: WidgetTokenState | undefined,
  event: DomainEvent,
): WidgetTokenState | undefined {
  switch (event.type) {
    case 'WidgetTokenIssued': {
      const { data } = event;
      return {
        id: data.tokenId,
        workspaceId: data.workspaceId,
        secretSha256: data.secretSha256,
        tools: data.tools,
        origins: data.origins,
        maxJobs: data.maxJobs,
        expiresAt: data.expiresAt,
        jobIds: [],
      };
    }
    case 'WidgetTokenJobReserved':
      if (!state) return state;
      return { ...state, jobIds: [...state.jobIds, event.data.jobId] };
    case 'WidgetTokenJobReleased':
      if (!state) return state;
      return {
        ...state,
        jobIds: state.jobIds.filter((jobId) => jobId !== event.data.jobId),
      };
    default:
      return state;
  }
}

/**
 * Decides a command on a token stream. A reservation counts a job once,
 * whatever the number of retries, and fails when the token expired or
 * already counts `maxJobs` jobs.
 */
export function decideWidgetToken(
  command: WidgetTokenCommand,
  state: WidgetTokenState | undefined,
  now: Date,
): DomainEvent[] {
  const at = now.toISOString();

  if (command.type === 'IssueWidgetToken') {
    if (state) {
      throw errors.jobStateConflict(
        `Widget token ${command.tokenId} exists already; mint a new one.`,
      );
    }
    return [
      {
        type: 'WidgetTokenIssued',
        data: {
          at,
          tokenId: command.tokenId,
          workspaceId: command.workspaceId,
          secretSha256: command.secretSha256,
          tools: command.tools,
          origins: command.origins,
          maxJobs: command.maxJobs,
          expiresAt: command.expiresAt,
        },
      },
    ];
  }

  if (!state) {
    throw errors.unauthorized(
      'The widget token is not known. Mint a new one with ' +
        'POST /v1/widget-tokens.',
    );
  }

  if (command.type === 'ReleaseWidgetTokenJob') {
    if (!state.jobIds.includes(command.jobId)) return [];
    return [
      {
        type: 'WidgetTokenJobReleased',
        data: { at, jobId: command.jobId, reason: command.reason },
      },
    ];
  }

  if (state.jobIds.includes(command.jobId)) return [];
  if (isWidgetTokenExpired(state, now)) {
    throw errors.widgetTokenExpired(
      `Widget token ${state.id} expired at ${state.expiresAt}. Mint a new ` +
        'one with POST /v1/widget-tokens from your backend.',
    );
  }
  if (state.jobIds.length >= state.maxJobs) {
    throw errors.widgetTokenJobLimitReached(
      `Widget token ${state.id} allows ${state.maxJobs} ` +
        `${state.maxJobs === 1 ? 'job' : 'jobs'} and has created them all. ` +
        'Reload the page for a new token, or mint one with a higher maxJobs.',
    );
  }
  return [
    { type: 'WidgetTokenJobReserved', data: { at, jobId: command.jobId } },
  ];
}

/**
 * Returns why `value` is not an origin a token may allow, or undefined
 * when it is one. An origin is exactly what browsers send in the Origin
 * header: an http or https scheme, a lowercase host and a port only when
 * it is not the scheme's default, with no path.
 */
export function originProblem(value: string): string | undefined {
  const example = 'such as https://shop.example or http://127.0.0.1:3000';
  if (value === 'null') {
    return (
      'The origin "null" is rejected because sandboxed frames and file: ' +
      'pages all send it, so any page could use the token. List the real ' +
      `origin of the page, ${example}.`
    );
  }
  if (value.includes('*')) {
    return (
      `The origin "${value}" contains a wildcard, which is not allowed. ` +
      `List each origin exactly, ${example}.`
    );
  }

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return (
      `"${value}" is not an origin. Write a scheme, a host and an optional ` +
      `port, ${example}.`
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return (
      `The origin "${value}" has the scheme ${url.protocol.slice(0, -1)}; ` +
      `pages that embed the widget have http or https origins, ${example}.`
    );
  }
  if (url.origin !== value) {
    return (
      `"${value}" is not exactly an origin. Write "${url.origin}": the ` +
      'scheme, the lowercase host and a port other than the default, ' +
      'without a path, query or user name.'
    );
  }
  return undefined;
}
