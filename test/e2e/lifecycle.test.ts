import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';

let service: TestService;
let client: Client;

beforeAll(async () => {
  service = await startTestService({ BORINGKIT_UPLOAD_INTENT_SECONDS: '2' });
  client = new Client(service.url);
});
afterAll(() => service.stop());

/** HTML whose script keeps the renderer busy for `seconds`. */
function busyHtml(seconds: number): string {
  return `<p>busy</p><script>const end = Date.now() + ${seconds * 1000}; while (Date.now() < end) {}</script>`;
}

const htmlJob = (text: string, extra = {}) => ({
  toolSlug: 'html-to-pdf-api',
  input: { kind: 'text', contentType: 'text/html', text, options: {} },
  ...extra,
});

async function eventTypes(jobId: string): Promise<string[]> {
  const { body } = await client.request('GET', `/v1/jobs/${jobId}/events`);
  return body.data.map((event: { type: string }) => event.type);
}

describe('job lifecycle with a worker', () => {
  it('cancel while running keeps one credit and stops the engine', async () => {
    const { body: job } = await client.createJob(htmlJob(busyHtml(30)));
    await client.waitForStatus(job.id, ['running']);

    const canceledAt = Date.now();
    const { body: canceled } = await client.request(
      'POST',
      `/v1/jobs/${job.id}/cancel`,
    );
    expect(canceled.status).toBe('canceled');
    expect(canceled.credits).toEqual({ charged: 2, refunded: 1 });

    const worker = service.service.worker!;
    await waitFor(() => (worker.active.has(job.id) ? undefined : true), {
      timeoutMs: 5_000,
      what: 'the attempt to stop',
    });
    expect(Date.now() - canceledAt).toBeLessThan(5_000);
    expect(await eventTypes(job.id)).not.toContain('JobSucceeded');
  });

  it('deadline fails a running job and refunds it', async () => {
    const { body: job } = await client.createJob(
      htmlJob(busyHtml(30), { deadlineSeconds: 2 }),
    );
    const failed = await client.waitForStatus(
      job.id,
      ['failed', 'succeeded'],
      15_000,
    );
    expect(failed.status).toBe('failed');
    expect(failed.failure.code).toBe('deadline_exceeded');
    expect(failed.credits).toEqual({ charged: 2, refunded: 2 });
  });

  it('upload never arriving fails and refunds', async () => {
    const png = await makePng(8, 8);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('late.png', 'image/png', png),
    });
    const failed = await client.waitForStatus(job.id, ['failed'], 10_000);
    expect(failed.failure.code).toBe('upload_expired');
    expect(failed.credits).toEqual({ charged: 1, refunded: 1 });

    const late = await client.upload(job, png);
    expect(late.status).toBe(410);
    expect(late.body.code).toBe('UPLOAD_INTENT_EXPIRED');
  });

  it('upload missing at the deadline is upload_expired', async () => {
    const png = await makePng(8, 8);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('never.png', 'image/png', png),
      deadlineSeconds: 1,
    });
    const failed = await client.waitForStatus(job.id, ['failed'], 10_000);
    expect(failed.failure.code).toBe('upload_expired');

    const late = await client.upload(job, png);
    expect(late.status).toBe(410);
    expect(late.body.detail).toContain('Create a new job');
  });

  it('corrupt image fails as invalid input without retry', async () => {
    const png = await makePng(16, 16);
    const corrupt = Buffer.concat([png.subarray(0, 40), Buffer.alloc(400, 7)]);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('broken.png', 'image/png', corrupt),
    });
    expect((await client.upload(job, corrupt)).status).toBe(200);
    const failed = await client.waitForStatus(job.id, ['failed', 'succeeded']);
    expect(failed.status).toBe('failed');
    expect(failed.failure.retryable).toBe(false);
    expect(failed.attempt).toBe(1);
    expect(failed.credits.refunded).toBe(1);
  });

  it('closed succeeded job still downloads', async () => {
    const { body: job } = await client.createJob(htmlJob('<p>keep</p>'));
    await client.waitForStatus(job.id, ['succeeded']);
    const closed = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expect(closed.status).toBe(200);
    const { response } = await client.download(job.id);
    expect(response.status).toBe(200);
  });
});

describe('retention', () => {
  it('expired output answers 410 and keeps metadata', async () => {
    const short = await startTestService({ BORINGKIT_RETENTION_SECONDS: '1' });
    try {
      const shortClient = new Client(short.url);
      const { body: job } = await shortClient.createJob(
        htmlJob('<p>short lived</p>'),
      );
      const done = await shortClient.waitForStatus(job.id, ['succeeded']);
      const intent = await shortClient.request(
        'GET',
        `/v1/jobs/${job.id}/download-intent`,
      );
      expect(intent.status).toBe(200);

      await waitFor(
        async () => {
          const { body } = await shortClient.request(
            'GET',
            `/v1/jobs/${job.id}/events`,
          );
          return (
            body.data.some(
              (event: { type: string }) => event.type === 'OutputExpired',
            ) || undefined
          );
        },
        { timeoutMs: 10_000, what: 'OutputExpired' },
      );
      const expired = await shortClient.request(
        'GET',
        `/v1/jobs/${job.id}/download-intent`,
      );
      expect(expired.status).toBe(410);
      expect(expired.body.code).toBe('OUTPUT_EXPIRED');
      const stale = await fetch(intent.body.url);
      expect(stale.status).toBe(410);
      const after = (await shortClient.getJob(job.id)).body;
      expect(after.output).toEqual(done.output);
    } finally {
      await short.stop();
    }
  });
});
