import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  BoringKitClient,
  JobFailedError,
  type ClientOptions,
  NetworkError,
  type Job,
  type TransferProgress,
} from 'boringkit/client';
import { Client } from '../support/client.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  KEY_A,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';

let service: TestService;
let proxy: FaultProxy;
let workDir: string;
let png: Buffer;
let pngPath: string;

beforeAll(async () => {
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '1000' });
  proxy = await FaultProxy.start(Number(new URL(service.url).port));
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-client-'));
  png = await makePng(320, 200);
  pngPath = join(workDir, 'photo.png');
  await writeFile(pngPath, png);
});
afterAll(async () => {
  await proxy.close();
  await service.stop();
  await rm(workDir, { recursive: true, force: true });
});

function direct(options: Partial<ClientOptions> = {}) {
  return new BoringKitClient({ url: service.url, apiKey: KEY_A, ...options });
}

function throughProxy() {
  return new BoringKitClient({
    url: proxy.url,
    apiKey: KEY_A,
    pollIntervalMs: 100,
    retry: { baseDelayMs: 20 },
  });
}

const imageRequest = (name: string) => ({
  toolSlug: 'image-compress-api',
  input: fileInput(name, 'image/png', png, { quality: 60 }) as {
    kind: 'file';
    name: string;
    contentType: string;
    sizeBytes: number;
    options: Record<string, unknown>;
  },
});

describe('convertFile', () => {
  it('converts a PNG to a JPEG file', async () => {
    const uploads: TransferProgress[] = [];
    const updates: Job[] = [];
    const output = join(workDir, 'photo.jpg');
    const result = await direct().convertFile('image-compress-api', pngPath, {
      output,
      options: { quality: 70 },
      onUploadProgress: (progress) => uploads.push(progress),
      onUpdate: (job) => updates.push(job),
    });

    const bytes = await readFile(output);
    expect(result.output).toBe(output);
    expect(result.job.status).toBe('succeeded');
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(bytes.length).toBe(result.job.output?.sizeBytes);
    expect(uploads.at(-1)).toEqual({
      bytes: png.length,
      totalBytes: png.length,
    });
    expect(updates.at(-1)?.status).toBe('succeeded');
  });

  it('cancels the job when aborted', async () => {
    const controller = new AbortController();
    let created: Job | undefined;
    const conversion = direct().convertFile('image-compress-api', pngPath, {
      output: join(workDir, 'never.jpg'),
      signal: controller.signal,
      onJob: (job) => {
        created = job;
        controller.abort();
      },
    });

    await expect(conversion).rejects.toThrow();
    const job = await direct().getJob(created!.id);
    expect(job.status).toBe('canceled');
  });

  it('rejects a failed job with JobFailedError', async () => {
    const truncated = join(workDir, 'truncated.png');
    await writeFile(truncated, png.subarray(0, 2_000));
    const failure = await direct()
      .convertFile('image-compress-api', truncated)
      .catch((caught: unknown) => caught);

    expect(failure).toBeInstanceOf(JobFailedError);
    expect((failure as JobFailedError).job.status).toBe('failed');
    expect((failure as JobFailedError).job.failure?.code).toBe('invalid_input');
  });

  it('rejects bytes of another type with ApiError', async () => {
    const notPng = join(workDir, 'text.png');
    await writeFile(notPng, 'not an image at all');
    const failure = direct().convertFile('image-compress-api', notPng);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      code: 'UPLOAD_CONTENT_INVALID',
      status: 415,
    });
  });
});

describe('createJob', () => {
  it('sends an Idempotency-Key of its own', async () => {
    const first = await direct().createJob(imageRequest('a.png'));
    const second = await direct().createJob(imageRequest('a.png'));
    expect(first.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.job.id).not.toBe(first.job.id);
    expect(first.replayed).toBe(false);
  });

  it('replays a caller key', async () => {
    const idempotencyKey = `client-test-${Date.now()}`;
    const first = await direct().createJob(imageRequest('b.png'), {
      idempotencyKey,
    });
    const again = await direct().createJob(imageRequest('b.png'), {
      idempotencyKey,
    });
    expect(again.job.id).toBe(first.job.id);
    expect(again.replayed).toBe(true);
  });

  it('retries a lost reply without a second job', async () => {
    proxy.dropResponses('POST', '/v1/jobs');
    const dropped = proxy.counts.dropped;
    const name = `retried-${Date.now()}.png`;
    const { job, replayed } = await throughProxy().createJob(
      imageRequest(name),
    );

    expect(proxy.counts.dropped).toBe(dropped + 1);
    expect(replayed).toBe(true);
    const { body } = await new Client(service.url).request(
      'GET',
      '/v1/jobs?limit=100',
    );
    const named = body.data.filter((entry: Job) => entry.input.name === name);
    expect(named.map((entry: Job) => entry.id)).toEqual([job.id]);
  });
});

describe('uploadInput', () => {
  it('does not retry a lost PUT reply', async () => {
    const { job } = await direct().createJob(imageRequest('put.png'));
    const proxied = {
      ...job,
      uploadIntent: {
        ...job.uploadIntent!,
        url: job.uploadIntent!.url.replace(service.url, proxy.url),
      },
    };
    proxy.dropResponses('PUT', `/blobs/jobs/${job.id}/input`);
    const before = proxy.requests.length;

    const upload = throughProxy().uploadInput(proxied, png);
    await expect(upload).rejects.toBeInstanceOf(NetworkError);
    const puts = proxy.requests
      .slice(before)
      .filter((request) => request.startsWith('PUT '));
    expect(puts).toHaveLength(1);
  });
});

describe('waitForJob', () => {
  it('polls when the WebSocket is refused', async () => {
    proxy.refuseUpgrades = true;
    try {
      const client = throughProxy();
      const { job } = await client.createJob(imageRequest('poll.png'));
      await client.uploadInput(job, png);
      const before = proxy.counts.upgradesRefused;

      const done = await client.waitForJob(job.id);
      expect(done.status).toBe('succeeded');
      expect(proxy.counts.upgradesRefused).toBe(before + 1);
      expect(proxy.requests).toContain(`GET /v1/jobs/${job.id}`);
    } finally {
      proxy.refuseUpgrades = false;
    }
  });

  it('polls after the WebSocket drops', async () => {
    proxy.dropUpgradesAfterMs = 200;
    try {
      const client = throughProxy();
      // Without an upload the job waits, so only the test ends it.
      const { job } = await client.createJob(imageRequest('drop.png'));
      const updates: Job[] = [];
      const waiting = client.waitForJob(job.id, {
        onUpdate: (update) => updates.push(update),
      });
      const dropped = proxy.counts.upgradesDropped;
      await waitFor(
        () => (proxy.counts.upgradesDropped > dropped ? true : undefined),
        { what: 'the dropped socket' },
      );
      await direct().cancelJob(job.id);

      const done = await waiting;
      expect(done.status).toBe('canceled');
      expect(updates[0]?.stage).toBe('awaiting_upload');
      expect(proxy.requests).toContain(`GET /v1/jobs/${job.id}`);
    } finally {
      proxy.dropUpgradesAfterMs = undefined;
    }
  });

  it('follows the WebSocket to the end', async () => {
    const client = throughProxy();
    const { job } = await client.createJob(imageRequest('socket.png'));
    await client.uploadInput(job, png);
    const done = await client.waitForJob(job.id);
    expect(done.status).toBe('succeeded');
    expect(proxy.requests).toContain(`GET /v1/jobs/${job.id}/stream`);
    expect(proxy.requests).not.toContain(`GET /v1/jobs/${job.id}`);
  });
});

describe('reads and commands', () => {
  it('iterates over every page', async () => {
    const client = direct();
    for (let index = 0; index < 3; index++) {
      await client.createJob(imageRequest(`page-${index}.png`));
    }
    const seen: string[] = [];
    for await (const job of client.iterateJobs({ pageSize: 2 })) {
      seen.push(job.id);
    }
    const { data } = await client.listJobs({ limit: 100 });
    expect(seen).toEqual(data.map((job) => job.id));
    expect(seen.length).toBeGreaterThan(3);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it('cancels, closes and lists events', async () => {
    const client = direct();
    const { job } = await client.createJob(imageRequest('cancel.png'));
    const canceled = await client.cancelJob(job.id);
    const closed = await client.closeJob(job.id);
    const events = await client.listEvents(job.id);
    expect(canceled.status).toBe('canceled');
    expect(closed.closedAt).not.toBeNull();
    expect(events.map((event) => event.type)).toContain('JobCanceled');
  });

  it('reads credits and tools', async () => {
    const client = direct();
    const credits = await client.getCredits();
    const tools = await client.listTools();
    const tool = await client.getTool('pdf-to-text');
    expect(credits.entries[0]?.kind).toBe('grant');
    expect(tools.map((entry) => entry.slug)).toContain('image-compress-api');
    expect(tool.input.contentTypes).toEqual(['application/pdf']);
  });

  it('mints a widget token', async () => {
    const token = await direct().createWidgetToken({
      tools: ['image-compress-api'],
      origins: ['https://shop.example'],
      maxJobs: 1,
    });
    expect(token.maxJobs).toBe(1);
    expect(token.origins).toEqual(['https://shop.example']);

    const widget = direct({ apiKey: token.token });
    const { job } = await widget.createJob(imageRequest('token.png'));
    expect(job.status).toBe('queued');
    await expect(widget.getCredits()).rejects.toMatchObject({
      status: 403,
      code: 'WIDGET_TOKEN_NOT_ALLOWED',
    });
  });

  it('streams an output', async () => {
    const client = direct();
    const { job } = await client.createJob(imageRequest('stream.png'));
    await client.uploadInput(job, png);
    await client.waitForJob(job.id);
    const { intent, stream } = await client.openOutput(job.id);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(intent.sizeBytes);
    expect(intent.contentType).toBe('image/jpeg');
  });
});

describe('errors', () => {
  it('unknown job is an ApiError', async () => {
    const failure = direct().getJob('job_01JF8Z5QK00000000000000000');
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
      status: 404,
    });
  });

  it('wrong key is an auth error', async () => {
    const client = direct({ apiKey: 'wrong-key-0123456789' });
    const error = await client.listTools().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).isAuthError).toBe(true);
    expect((error as ApiError).detail).toContain('API key');
  });

  it('closed port is a NetworkError after retries', async () => {
    const server = createServer();
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));

    const client = new BoringKitClient({
      url: `http://127.0.0.1:${port}`,
      apiKey: KEY_A,
      retry: { retries: 2, baseDelayMs: 10 },
    });
    await expect(client.listTools()).rejects.toBeInstanceOf(NetworkError);
  });
});
