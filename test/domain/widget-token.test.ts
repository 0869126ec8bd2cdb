import { describe, expect, it } from 'vitest';
import { parseEvent, schemaVersionOf } from '../../domain/events.ts';
import { evolve } from '../../domain/job-state.ts';
import {
  decideWidgetToken,
  evolveWidgetToken,
  originProblem,
  type WidgetTokenCommand,
  type WidgetTokenState,
} from '../../domain/widget-token.ts';

const T0 = new Date('2026-12-04T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const issue: WidgetTokenCommand = {
  type: 'IssueWidgetToken',
  tokenId: 'wt_1',
  workspaceId: 'ws_a',
  secretSha256: 'ab'.repeat(32),
  tools: ['image-compress-api'],
  origins: ['https://shop.example'],
  maxJobs: 2,
  expiresAt: later(900).toISOString(),
};

const reserve = (jobId: string): WidgetTokenCommand => ({
  type: 'ReserveWidgetTokenJob',
  jobId,
});

function given(
  ...commands: [WidgetTokenCommand, Date][]
): WidgetTokenState | undefined {
  let state: WidgetTokenState | undefined;
  for (const [command, now] of commands) {
    for (const event of decideWidgetToken(command, state, now)) {
      state = evolveWidgetToken(state, event);
    }
  }
  return state;
}

describe('widget token decider', () => {
  it('issue records the scope', () => {
    const state = given([issue, T0]);
    expect(state?.origins).toEqual(['https://shop.example']);
    expect(state?.maxJobs).toBe(2);
    expect(state?.jobIds).toEqual([]);
  });

  it('issue twice is a conflict', () => {
    const state = given([issue, T0]);
    expect(() => decideWidgetToken(issue, state, T0)).toThrow(
      expect.objectContaining({ status: 409 }),
    );
  });

  it('reserve counts a job once', () => {
    const state = given([issue, T0], [reserve('job_1'), T0]);
    expect(decideWidgetToken(reserve('job_1'), state, T0)).toEqual([]);
    expect(state?.jobIds).toEqual(['job_1']);
  });

  it('reserve past maxJobs is 403', () => {
    const state = given(
      [issue, T0],
      [reserve('job_1'), T0],
      [reserve('job_2'), T0],
    );
    expect(() => decideWidgetToken(reserve('job_3'), state, T0)).toThrow(
      expect.objectContaining({
        code: 'WIDGET_TOKEN_JOB_LIMIT_REACHED',
        status: 403,
      }),
    );
  });

  it('reserve after expiry is 401', () => {
    const state = given([issue, T0]);
    expect(() =>
      decideWidgetToken(reserve('job_1'), state, later(900)),
    ).toThrow(
      expect.objectContaining({ code: 'WIDGET_TOKEN_EXPIRED', status: 401 }),
    );
  });

  it('release frees a reservation', () => {
    const state = given(
      [issue, T0],
      [reserve('job_1'), T0],
      [reserve('job_2'), T0],
      [{ type: 'ReleaseWidgetTokenJob', jobId: 'job_1', reason: 'x' }, T0],
    );
    expect(state?.jobIds).toEqual(['job_2']);
    const events = decideWidgetToken(reserve('job_3'), state, T0);
    expect(events.map((event) => event.type)).toEqual([
      'WidgetTokenJobReserved',
    ]);
  });

  it('release of an unknown job does nothing', () => {
    const state = given([issue, T0]);
    const release: WidgetTokenCommand = {
      type: 'ReleaseWidgetTokenJob',
      jobId: 'job_9',
      reason: 'x',
    };
    expect(decideWidgetToken(release, state, T0)).toEqual([]);
  });

  it('reserve on an unknown token is 401', () => {
    expect(() => decideWidgetToken(reserve('job_1'), undefined, T0)).toThrow(
      expect.objectContaining({ code: 'UNAUTHORIZED', status: 401 }),
    );
  });
});

describe('origin validation', () => {
  it.each([
    'https://shop.example',
    'http://127.0.0.1:3000',
    'http://[::1]:5173',
    'https://xn--bcher-kva.example',
  ])('accepts %s', (origin) => {
    expect(originProblem(origin)).toBeUndefined();
  });

  it.each([
    ['*', 'wildcard'],
    ['https://*.shop.example', 'wildcard'],
    ['null', 'sandboxed frames'],
    ['https://shop.example/', 'Write "https://shop.example"'],
    ['https://shop.example?x=1', 'Write "https://shop.example"'],
    ['http://shop.example:80', 'Write "http://shop.example"'],
    ['https://bücher.example', 'Write "https://xn--bcher-kva.example"'],
    ['file:///tmp/page.html', 'scheme file'],
    ['', 'is not an origin'],
  ])('rejects %s', (origin, reason) => {
    expect(originProblem(origin)).toContain(reason);
  });
});

describe('JobCreated upcasting', () => {
  const version1 = {
    at: T0.toISOString(),
    jobId: 'job_1',
    workspaceId: 'ws_a',
    toolSlug: 'image-compress-api',
    input: {
      kind: 'file',
      name: 'a.png',
      contentType: 'image/png',
      sizeBytes: 10,
      options: {},
    },
    maxAttempts: 2,
    deadlineAt: later(600).toISOString(),
    retentionSeconds: 3600,
  };

  it('is at version 2', () => {
    expect(schemaVersionOf('JobCreated')).toBe(2);
    expect(schemaVersionOf('JobStarted')).toBe(1);
  });

  it('reads version 1 as an API-key job', () => {
    const event = parseEvent('JobCreated', version1, 1);
    expect(event?.type).toBe('JobCreated');
    expect(event?.data).toMatchObject({ widgetTokenId: null });
    const state = event ? evolve(undefined, event) : undefined;
    expect(state).toBeDefined();
    expect(Object.keys(state ?? {})).not.toContain('widgetTokenId');
  });

  it('keeps the token of version 2', () => {
    const event = parseEvent(
      'JobCreated',
      { ...version1, widgetTokenId: 'wt_1' },
      2,
    );
    const state = event ? evolve(undefined, event) : undefined;
    expect(state?.widgetTokenId).toBe('wt_1');
  });

  it('rejects version 2 without the field', () => {
    expect(() => parseEvent('JobCreated', version1, 2)).toThrow();
  });
});
