import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  KEY_B,
  startTestService,
  type TestService,
} from '../support/service.ts';

let service: TestService;
let client: Client;
let png: Buffer;

beforeAll(async () => {
  // API only: jobs stay queued, so states are under the test's control.
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '1000' }, [
    'api',
  ]);
  client = new Client(service.url);
  png = await makePng(64, 48);
});
afterAll(() => service.stop());

const imageJob = (bytes: Buffer, options = {}) => ({
  toolSlug: 'image-compress-api',
  input: fileInput('photo.png', 'image/png', bytes, options),
});

describe('auth and problems', () => {
  it('missing key is 401 problem', async () => {
    const response = await fetch(`${service.url}/v1/jobs`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain(
      'application/problem+json',
    );
    expect((await response.json()).code).toBe('UNAUTHORIZED');
  });

  it('unknown key is 401', async () => {
    const response = await new Client(service.url, 'not-a-key').request(
      'GET',
      '/v1/jobs',
    );
    expect(response.status).toBe(401);
  });

  it('unknown route is 404 problem', async () => {
    const response = await client.request('GET', '/v2/nothing');
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('ROUTE_NOT_FOUND');
  });

  it('malformed JSON is 400 problem', async () => {
    const response = await fetch(`${service.url}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.key}`,
        'content-type': 'application/json',
      },
      body: '{"toolSlug": ',
    });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe('INVALID_JSON');
  });

  it('non-JSON body is 415 problem', async () => {
    const response = await fetch(`${service.url}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.key}`,
        'content-type': 'text/plain',
      },
      body: 'hello',
    });
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toContain(
      'application/problem+json',
    );
  });

  it('bad JSON without a key is 401', async () => {
    const response = await fetch(`${service.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"toolSlug": ',
    });
    expect(response.status).toBe(401);
  });

  it('overlong job id is a 414 problem', async () => {
    const response = await client.request('GET', `/v1/jobs/${'x'.repeat(101)}`);
    expect(response.status).toBe(414);
    expect(response.headers.get('content-type')).toContain(
      'application/problem+json',
    );
    expect(response.body.code).toBe('PATH_PARAMETER_TOO_LONG');
    expect(response.body.detail).not.toContain('xxxxxxxxxx');
  });

  it('unknown query parameter names the query', async () => {
    const response = await client.request('GET', '/v1/jobs?evil=1');
    expect(response.status).toBe(400);
    expect(response.body.detail).toContain('(query)');
  });

  it('healthz needs no key', async () => {
    const response = await fetch(`${service.url}/healthz`);
    expect(response.status).toBe(200);
  });
});

describe('create job', () => {
  it('returns 201 with an upload intent', async () => {
    const { status, body } = await client.createJob(imageJob(png));
    expect(status).toBe(201);
    expect(body.id).toMatch(/^job_[0-9A-Z]{26}$/);
    expect(body.status).toBe('queued');
    expect(body.stage).toBe('awaiting_upload');
    expect(body.uploadIntent.method).toBe('PUT');
    expect(body.uploadIntent.headers['Content-Type']).toBe('image/png');
    expect(body.input.options).toEqual({ quality: 82, background: '#ffffff' });
    expect(body.credits).toEqual({ charged: 1, refunded: 0 });
  });

  it('unknown tool is 404', async () => {
    const { status, body } = await client.createJob({
      ...imageJob(png),
      toolSlug: 'nope',
    });
    expect(status).toBe(404);
    expect(body.code).toBe('TOOL_NOT_FOUND');
  });

  it('unknown option is 400 naming it', async () => {
    const { status, body } = await client.createJob(
      imageJob(png, { qualty: 5 }),
    );
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_OPTIONS');
    expect(body.detail).toContain('qualty');
  });

  it('out-of-range option is 400', async () => {
    const { status, body } = await client.createJob(
      imageJob(png, { quality: 101 }),
    );
    expect(status).toBe(400);
    expect(body.errors[0].path).toBe('input.options.quality');
  });

  it('absurd margin is 400', async () => {
    const { status, body } = await client.createJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: '<p>x</p>',
        options: { margin: { top: '99999999999in' } },
      },
    });
    expect(status).toBe(400);
    expect(body.errors[0].path).toBe('input.options.margin.top');
  });

  it('blank file name is 400', async () => {
    const { status } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('   ', 'image/png', png),
    });
    expect(status).toBe(400);
  });

  it('missing field is 400', async () => {
    const { status, body } = await client.createJob({
      toolSlug: 'image-compress-api',
    });
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_REQUEST');
  });

  it('wrong content type is 415', async () => {
    const { status, body } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('a.gif', 'image/gif', png),
    });
    expect(status).toBe(415);
    expect(body.code).toBe('UNSUPPORTED_CONTENT_TYPE');
  });

  it('oversized declaration is 413', async () => {
    const { status, body } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: {
        ...fileInput('a.png', 'image/png', png),
        sizeBytes: 51 * 1024 * 1024,
      },
    });
    expect(status).toBe(413);
    expect(body.code).toBe('INPUT_TOO_LARGE');
  });

  it('__proto__ key is dropped, not fatal', async () => {
    const body = JSON.stringify(imageJob(png)).replace(
      '{',
      '{"__proto__":{"polluted":1},',
    );
    const response = await fetch(`${service.url}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.key}`,
        'content-type': 'application/json',
      },
      body,
    });
    expect(response.status).toBe(201);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('file name with a bidi override is 400', async () => {
    const { status } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('gpj.\u202eexe.png', 'image/png', png),
    });
    expect(status).toBe(400);
  });

  it('file name of only dots is 400', async () => {
    const { status } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('..', 'image/png', png),
    });
    expect(status).toBe(400);
  });

  it('raising maxAttempts is 400', async () => {
    const { status } = await client.createJob({
      ...imageJob(png),
      maxAttempts: 9,
    });
    expect(status).toBe(400);
  });

  it('inline text for a file-only tool is 400', async () => {
    const { status } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: { kind: 'text', contentType: 'image/png', text: 'x', options: {} },
    });
    expect(status).toBe(400);
  });
});

describe('idempotency', () => {
  it('replay returns the same job with 200', async () => {
    const first = await client.createJob(imageJob(png), 'key-replay-1');
    const second = await client.createJob(imageJob(png), 'key-replay-1');
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
  });

  it('same key with another request is 422', async () => {
    await client.createJob(imageJob(png), 'key-reuse-1');
    const other = await client.createJob(
      imageJob(png, { quality: 10 }),
      'key-reuse-1',
    );
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('same key in another workspace is independent', async () => {
    const mine = await client.createJob(imageJob(png), 'key-shared-1');
    const theirs = await new Client(service.url, KEY_B).createJob(
      imageJob(png),
      'key-shared-1',
    );
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('20 concurrent first uses make one job', async () => {
    const before = (await client.request('GET', '/v1/credits')).body.balance;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.createJob(imageJob(png), 'key-race-1'),
      ),
    );
    const ids = new Set(responses.map((response) => response.body.id));
    expect(ids.size).toBe(1);
    expect(
      responses.filter((response) => response.status === 201),
    ).toHaveLength(1);
    expect(
      responses.filter((response) => response.status === 200),
    ).toHaveLength(19);
    const after = (await client.request('GET', '/v1/credits')).body.balance;
    expect(before - after).toBe(1);
  });

  it('invalid key header is 400', async () => {
    const { status } = await client.createJob(imageJob(png), 'has space');
    expect(status).toBe(400);
  });
});

describe('upload', () => {
  it('wrong Content-Type is 415 and intent stays usable', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const wrong = await client.upload(job, png, 'image/jpeg');
    expect(wrong.status).toBe(415);
    expect(wrong.body.code).toBe('UPLOAD_CONTENT_TYPE_MISMATCH');
    const right = await client.upload(job, png);
    expect(right.status).toBe(200);
    expect((await client.getJob(job.id)).body.stage).toBe('ready');
  });

  it('longer body is 413', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const response = await client.upload(
      job,
      Buffer.concat([png, Buffer.alloc(10)]),
    );
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('UPLOAD_SIZE_MISMATCH');
  });

  it('shorter body is 400', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const response = await client.upload(job, png.subarray(0, png.length - 5));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('UPLOAD_SIZE_MISMATCH');
  });

  it('text declared as PNG is 415', async () => {
    const text = Buffer.from('this is plain text, not a picture at all');
    const { body: job } = await client.createJob(imageJob(text));
    const response = await client.upload(job, text);
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('UPLOAD_CONTENT_INVALID');
    expect((await client.getJob(job.id)).body.stage).toBe('awaiting_upload');
  });

  it('stored input is private to the service user', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    expect((await client.upload(job, png)).status).toBe(200);
    const { stat } = await import('node:fs/promises');
    const info = await stat(`${service.dataDir}/blobs/jobs/${job.id}/input`);
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('refused upload leaves no blob', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    await client.upload(job, Buffer.concat([png, Buffer.alloc(1)]));
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(
      `${service.dataDir}/blobs/jobs/${job.id}`,
    ).catch(() => []);
    expect(entries).toEqual([]);
    const leftovers = await readdir(`${service.dataDir}/tmp`).catch(() => []);
    expect(leftovers).toEqual([]);
  });

  it('tampered signature is 403', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    // Change the signature's first character to a different one.
    const url = job.uploadIntent.url.replace(
      /signature=(.)/,
      (_match: string, first: string) =>
        `signature=${first === 'A' ? 'B' : 'A'}`,
    );
    const tampered = { uploadIntent: { ...job.uploadIntent, url } };
    const response = await client.upload(tampered, png, 'image/png');
    expect(response.status).toBe(403);
  });

  it('second upload is 409', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    expect((await client.upload(job, png)).status).toBe(200);
    const again = await client.upload(job, png);
    expect(again.status).toBe(409);
  });

  it('fresh upload intent is issued', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const fresh = await client.request(
      'POST',
      `/v1/jobs/${job.id}/upload-intent`,
    );
    expect(fresh.status).toBe(200);
    expect(fresh.body.uploadIntent.url).toContain(job.id);
  });
});

describe('job commands', () => {
  it('cancel while queued refunds in full', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const canceled = await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    expect(canceled.body.credits).toEqual({ charged: 1, refunded: 1 });
  });

  it('cancel twice is 409', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    const again = await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('JOB_NOT_CANCELABLE');
  });

  it('close of a queued job is 409', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const closed = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expect(closed.status).toBe(409);
    expect(closed.body.code).toBe('JOB_NOT_FINISHED');
  });

  it('close hides the job from the list', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    const closed = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expect(closed.body.closedAt).not.toBeNull();
    const twice = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expect(twice.body.closedAt).toBe(closed.body.closedAt);
    const list = await client.request(
      'GET',
      '/v1/jobs?status=canceled&limit=100',
    );
    expect(list.body.data.map((item: { id: string }) => item.id)).not.toContain(
      job.id,
    );
    expect((await client.getJob(job.id)).status).toBe(200);
  });

  it('download before success is 409', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const response = await client.request(
      'GET',
      `/v1/jobs/${job.id}/download-intent`,
    );
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('JOB_NOT_SUCCEEDED');
  });

  it('events list the whole log oldest first', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    const { body } = await client.request('GET', `/v1/jobs/${job.id}/events`);
    expect(body.data.map((event: { type: string }) => event.type)).toEqual([
      'JobCreated',
      'CreditsCharged',
      'UploadIntentIssued',
      'JobCanceled',
      'CreditsRefunded',
    ]);
    expect(
      body.data.map((event: { revision: number }) => event.revision),
    ).toEqual([0, 1, 2, 3, 4]);
  });

  it('another workspace sees 404 everywhere', async () => {
    const { body: job } = await client.createJob(imageJob(png));
    const other = new Client(service.url, KEY_B);
    for (const [method, path] of [
      ['GET', `/v1/jobs/${job.id}`],
      ['GET', `/v1/jobs/${job.id}/events`],
      ['GET', `/v1/jobs/${job.id}/download-intent`],
      ['POST', `/v1/jobs/${job.id}/cancel`],
      ['POST', `/v1/jobs/${job.id}/close`],
      ['POST', `/v1/jobs/${job.id}/upload-intent`],
    ] as const) {
      const response = await other.request(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.code, `${method} ${path}`).toBe('JOB_NOT_FOUND');
    }
    expect((await client.getJob(job.id)).body.status).toBe('queued');
  });
});

describe('list and credits', () => {
  it('pages newest first with a cursor', async () => {
    const paged = new Client(service.url, KEY_B);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push((await paged.createJob(imageJob(png))).body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const { body } = await paged.request('GET', `/v1/jobs?limit=2${query}`);
      seen.push(...body.data.map((item: { id: string }) => item.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
  });

  it('bad cursor is 400', async () => {
    const { status } = await client.request('GET', '/v1/jobs?cursor=abc');
    expect(status).toBe(400);
  });

  it('status filter lists only that status', async () => {
    const { body } = await client.request('GET', '/v1/jobs?status=canceled');
    expect(body.data.length).toBeGreaterThan(0);
    expect(
      body.data.every((item: { status: string }) => item.status === 'canceled'),
    ).toBe(true);
  });

  it('credits show grant, charges and refunds', async () => {
    const { body } = await client.request('GET', '/v1/credits');
    const kinds = new Set(
      body.entries.map((entry: { kind: string }) => entry.kind),
    );
    expect(kinds).toEqual(new Set(['grant', 'charge', 'refund']));
    const sum = body.entries.reduce(
      (total: number, entry: { kind: string; amount: number }) =>
        total + (entry.kind === 'charge' ? -entry.amount : entry.amount),
      0,
    );
    expect(body.balance).toBe(sum);
  });

  it('short balance is 402', async () => {
    const poor = await startTestService({ BORINGKIT_STARTING_CREDITS: '1' }, [
      'api',
    ]);
    try {
      const poorClient = new Client(poor.url);
      expect((await poorClient.createJob(imageJob(png))).status).toBe(201);
      const second = await poorClient.createJob(imageJob(png));
      expect(second.status).toBe(402);
      expect(second.body.code).toBe('INSUFFICIENT_CREDITS');
    } finally {
      await poor.stop();
    }
  });
});
