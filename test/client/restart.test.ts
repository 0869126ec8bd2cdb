import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoringKitClient, NetworkError, type Job } from 'boringkit/client';
import { followJobStream } from '../../client/wait.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import { KEY_A, waitFor } from '../support/service.ts';
import { freePort, RestartableService } from './restartable-service.ts';

/**
 * Longer than the client's request retries last (3 retries of at most
 * 250, 500 and 1000 ms), so only a wait that rides out the outage passes.
 */
const DOWNTIME_MS = 4_000;

let png: Buffer;
let service: RestartableService | undefined;

beforeAll(async () => {
  png = await makePng(160, 100);
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

/**
 * Starts the API alone, so the job it creates and uploads stays ready until
 * a worker comes with the restart.
 */
async function startWithReadyJob(): Promise<{
  client: BoringKitClient;
  job: Job;
}> {
  service = await RestartableService.create();
  await service.start('serve');
  const client = new BoringKitClient({ url: service.url, apiKey: KEY_A });
  const { job } = await client.createJob({
    toolSlug: 'image-compress-api',
    input: fileInput('restart.png', 'image/png', png) as {
      kind: 'file';
      name: string;
      contentType: string;
      sizeBytes: number;
      options: Record<string, unknown>;
    },
  });
  await client.uploadInput(job, png);
  return { client, job };
}

/** Restarts once the wait has seen the job, so it waits on a live stream. */
async function restartAfterDowntime(
  updates: Job[],
  command: 'serve' | 'all',
): Promise<void> {
  await waitFor(() => (updates.length > 0 ? true : undefined), {
    what: 'the first update',
  });
  await service!.kill();
  await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
  await service!.start(command);
}

describe('waiting through a restart', () => {
  it('waitForJob outlasts a restart', { timeout: 90_000 }, async () => {
    const { client, job } = await startWithReadyJob();
    const updates: Job[] = [];
    const waiting = client.waitForJob(job.id, {
      onUpdate: (update) => updates.push(update),
    });

    await restartAfterDowntime(updates, 'all');
    const done = await waiting;
    expect(done.status).toBe('succeeded');
    expect(updates[0]?.stage).toBe('ready');
  });

  it(
    'reconnects the stream when the service is back',
    {
      timeout: 90_000,
    },
    async () => {
      const { client, job } = await startWithReadyJob();
      const updates: Job[] = [];
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), 40_000);
      // Polls are an hour apart, so only a reopened stream reports the cancel.
      const waiting = followJobStream({
        url: `${service!.url.replace(/^http/, 'ws')}/v1/jobs/${job.id}/stream`,
        apiKey: KEY_A,
        onUpdate: (update) => updates.push(update),
        signal: controller.signal,
        heartbeatMs: 15_000,
        handshakeTimeoutMs: 10_000,
        pollIntervalMs: 3_600_000,
      });
      try {
        await restartAfterDowntime(updates, 'serve');
        // The first stream's message, the poll that finds the service back,
        // then the reopened stream's first message.
        await waitFor(() => (updates.length >= 3 ? true : undefined), {
          what: 'the reopened stream',
        });
        await client.cancelJob(job.id);

        const done = await waiting;
        expect(done.status).toBe('canceled');
      } finally {
        clearTimeout(timeout);
        controller.abort();
        await waiting.catch(() => undefined);
      }
    },
  );
});

describe('waiting on a service that stays down', () => {
  it('gives up after maxOutageMs', async () => {
    const port = await freePort();
    const started = Date.now();
    const waiting = followJobStream({
      url: `ws://127.0.0.1:${port}/v1/jobs/job_01JF8Z5QK00000000000000000/stream`,
      apiKey: KEY_A,
      onUpdate: () => undefined,
      heartbeatMs: 15_000,
      handshakeTimeoutMs: 10_000,
      maxOutageMs: 1_000,
    });

    const error = await waiting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).message).toContain('1 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
