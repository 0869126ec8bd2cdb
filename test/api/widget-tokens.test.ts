import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../domain/catalog.ts';
import { Client, type ApiResponse, type Json } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import { ContractChecker } from '../support/openapi.ts';
import {
  KEY_B,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';
import { mintToken, PAGE_ORIGIN } from '../support/widget-tokens.ts';

let service: TestService;
let client: Client;
let contract: ContractChecker;
let png: Buffer;

beforeAll(async () => {
  service = await startTestService();
  client = new Client(service.url);
  png = await makePng(32, 24);
  const response = await fetch(`${service.url}/v1/openapi.json`);
  contract = new ContractChecker(await response.json());
});
afterAll(() => service.stop());

const imageJob = (options = {}) => ({
  toolSlug: 'image-compress-api',
  input: fileInput('photo.png', 'image/png', png, options),
});

function mintRequest(body: Json): Promise<ApiResponse> {
  return client.request('POST', '/v1/widget-tokens', body);
}

function expectProblem(response: ApiResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.body.code).toBe(code);
}

async function countJobs(): Promise<number> {
  const { body } = await client.request('GET', '/v1/jobs?limit=100');
  return body.data.length;
}

describe('POST /v1/widget-tokens', () => {
  it('mints a token with defaults', async () => {
    const before = Date.now();
    const response = await mintRequest({
      tools: ['image-compress-api'],
      origins: ['https://shop.example'],
    });
    expect(response.status).toBe(201);
    contract.check('POST', '/v1/widget-tokens', response);

    const token = response.body;
    expect(token.id).toMatch(/^wt_[0-9A-Z]{26}$/);
    expect(token.token).toMatch(/^wt_[0-9A-Z]{26}\.[\w-]{43}$/);
    expect(token.token.startsWith(`${token.id}.`)).toBe(true);
    expect(token.tools).toEqual(['image-compress-api']);
    expect(token.origins).toEqual(['https://shop.example']);
    expect(token.maxJobs).toBe(10);
    const lifetime = Date.parse(token.expiresAt) - before;
    expect(lifetime).toBeGreaterThan(899_000);
    expect(lifetime).toBeLessThan(905_000);
  });

  it('caps the lifetime at 24 hours', async () => {
    const longest = await mintRequest({
      tools: ['image-compress-api'],
      origins: [PAGE_ORIGIN],
      expiresInSeconds: 86_400,
    });
    expect(longest.status).toBe(201);
    const lifetime = Date.parse(longest.body.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(86_390_000);

    const tooLong = await mintRequest({
      tools: ['image-compress-api'],
      origins: [PAGE_ORIGIN],
      expiresInSeconds: 86_401,
    });
    expectProblem(tooLong, 400, 'INVALID_REQUEST');
    expect(tooLong.body.errors[0].path).toBe('expiresInSeconds');
  });

  it.each([
    ['*', 'wildcard'],
    ['https://*.shop.example', 'wildcard'],
    ['null', '"null"'],
    ['https://shop.example/', 'Write "https://shop.example"'],
    ['https://shop.example/checkout', 'without a path'],
    ['https://shop.example:443', 'Write "https://shop.example"'],
    ['https://Shop.Example', 'Write "https://shop.example"'],
    ['https://user@shop.example', 'Write "https://shop.example"'],
    ['ftp://shop.example', 'scheme ftp'],
    ['shop.example', 'not an origin'],
  ])('rejects origin %s', async (origin, reason) => {
    const response = await mintRequest({
      tools: ['image-compress-api'],
      origins: ['https://ok.example', origin],
    });
    expectProblem(response, 400, 'INVALID_REQUEST');
    contract.check('POST', '/v1/widget-tokens', response);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].path).toBe('origins.1');
    expect(response.body.errors[0].message).toContain(reason);
    expect(response.body.detail).toContain(origin);
  });

  it('accepts ports and IP addresses', async () => {
    const origins = [
      'http://127.0.0.1:3000',
      'http://[::1]:5173',
      'https://shop.example:8443',
    ];
    const response = await mintRequest({ tools: ['pdf-to-text'], origins });
    expect(response.status).toBe(201);
    expect(response.body.origins).toEqual(origins);
  });

  it('rejects an unknown tool', async () => {
    const response = await mintRequest({
      tools: ['pdf-to-text', 'no-such-tool'],
      origins: [PAGE_ORIGIN],
    });
    expectProblem(response, 400, 'INVALID_REQUEST');
    expect(response.body.errors[0].path).toBe('tools.1');
    expect(response.body.detail).toContain('"no-such-tool"');
  });

  it('rejects out-of-range job counts', async () => {
    for (const maxJobs of [0, 1001, 1.5]) {
      const response = await mintRequest({
        tools: ['pdf-to-text'],
        origins: [PAGE_ORIGIN],
        maxJobs,
      });
      expectProblem(response, 400, 'INVALID_REQUEST');
      expect(response.body.errors[0].path).toBe('maxJobs');
    }
  });

  it('needs an API key', async () => {
    const anonymous = await fetch(`${service.url}/v1/widget-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tools: ['pdf-to-text'], origins: [PAGE_ORIGIN] }),
    });
    expect(anonymous.status).toBe(401);

    const token = await mintToken(client);
    const response = await token.client.request('POST', '/v1/widget-tokens', {
      tools: ['pdf-to-text'],
      origins: [PAGE_ORIGIN],
    });
    expectProblem(response, 403, 'WIDGET_TOKEN_NOT_ALLOWED');
    contract.check('POST', '/v1/widget-tokens', response);
  });

  it('rejects a forged secret', async () => {
    const { body } = await mintToken(client);
    const forged = new Client(service.url, `${body.id}.${'A'.repeat(43)}`);
    expectProblem(
      await forged.request('GET', '/v1/tools'),
      401,
      'UNAUTHORIZED',
    );
  });
});

describe('widget token scope', () => {
  it('converts its own job end to end', async () => {
    const { client: widget } = await mintToken(client);
    const tools = await widget.request('GET', '/v1/tools');
    expect(tools.status).toBe(200);
    contract.check('GET', '/v1/tools', tools);
    const tool = await widget.request('GET', '/v1/tools/image-compress-api');
    expect(tool.status).toBe(200);

    const created = await widget.createJob(imageJob());
    expect(created.status).toBe(201);
    contract.check('POST', '/v1/jobs', created);
    const renewed = await widget.request(
      'POST',
      `/v1/jobs/${created.body.id}/upload-intent`,
    );
    expect(renewed.status).toBe(200);
    expect((await widget.upload(renewed.body, png)).status).toBe(200);

    const job = await widget.waitForStatus(created.body.id, ['succeeded']);
    expect(job.output.contentType).toBe('image/jpeg');
    contract.check('GET', '/v1/jobs/{id}', await widget.getJob(job.id));
    const { bytes } = await widget.download(job.id);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('cancels its own job', async () => {
    const { client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    const canceled = await widget.request('POST', `/v1/jobs/${job.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
  });

  it('rejects routes outside its scope', async () => {
    const { client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    await widget.request('POST', `/v1/jobs/${job.id}/cancel`);

    const refused: [string, string, string][] = [
      ['GET', '/v1/jobs', '/v1/jobs'],
      ['GET', '/v1/credits', '/v1/credits'],
      ['GET', `/v1/jobs/${job.id}/events`, '/v1/jobs/{id}/events'],
      ['POST', `/v1/jobs/${job.id}/close`, '/v1/jobs/{id}/close'],
    ];
    for (const [method, path, documented] of refused) {
      const response = await widget.request(method, path);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.code, `${method} ${path}`).toBe(
        'WIDGET_TOKEN_NOT_ALLOWED',
      );
      contract.check(method, documented, response);
    }
  });

  it("cannot reach other credentials' jobs", async () => {
    const { client: widget } = await mintToken(client);
    const { client: sibling } = await mintToken(client);
    const { client: otherWorkspace } = await mintToken(
      new Client(service.url, KEY_B),
    );
    const byKey = (await client.createJob(imageJob())).body;
    const bySibling = (await sibling.createJob(imageJob())).body;
    const byOtherWorkspace = (await otherWorkspace.createJob(imageJob())).body;

    for (const job of [byKey, bySibling, byOtherWorkspace]) {
      for (const [method, path] of [
        ['GET', `/v1/jobs/${job.id}`],
        ['POST', `/v1/jobs/${job.id}/cancel`],
        ['POST', `/v1/jobs/${job.id}/upload-intent`],
        ['GET', `/v1/jobs/${job.id}/download-intent`],
      ] as const) {
        const response = await widget.request(method, path);
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.body.code).toBe('JOB_NOT_FOUND');
      }
    }
    const { body: stillQueued } = await client.getJob(byKey.id);
    expect(stillQueued.status).toBe('queued');
  });

  it('creates jobs only for its tools', async () => {
    const { client: widget } = await mintToken(client, {
      tools: ['pdf-to-text'],
    });
    const before = await countJobs();
    const response = await widget.createJob(imageJob());
    expectProblem(response, 403, 'WIDGET_TOKEN_TOOL_NOT_ALLOWED');
    contract.check('POST', '/v1/jobs', response);
    expect(response.body.detail).toContain('pdf-to-text');
    expect(await countJobs()).toBe(before);
  });

  it('answers an unknown tool as the catalog does', async () => {
    const { client: widget } = await mintToken(client, {
      tools: ['pdf-to-text'],
    });
    const response = await widget.createJob({
      ...imageJob(),
      toolSlug: 'no-such-tool',
    });
    expectProblem(response, 404, 'TOOL_NOT_FOUND');
  });

  it('records the creating token', async () => {
    const { body: token, client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    const { body: keyJob } = await client.createJob(imageJob());

    const created = async (id: string) => {
      const { body } = await client.request('GET', `/v1/jobs/${id}/events`);
      return body.data.find((event: Json) => event.type === 'JobCreated');
    };
    const event = await created(job.id);
    expect(event.data.widgetTokenId).toBe(token.id);
    expect(event.metadata.actor).toBe(`widget-token:${token.id}`);
    expect(event.metadata.schemaVersion).toBe(2);
    expect((await created(keyJob.id)).data.widgetTokenId).toBeNull();
  });
});

describe('widget token limits', () => {
  it('expires', async () => {
    const { body: token, client: widget } = await mintToken(client, {
      expiresInSeconds: 1,
    });
    expect((await widget.request('GET', '/v1/tools')).status).toBe(200);
    await waitFor(
      () => (Date.now() > Date.parse(token.expiresAt) + 50 ? true : undefined),
      { what: 'the token to expire' },
    );

    const tools = await widget.request('GET', '/v1/tools');
    expectProblem(tools, 401, 'WIDGET_TOKEN_EXPIRED');
    contract.check('GET', '/v1/tools', tools);
    expect(tools.body.detail).toContain(token.expiresAt);
    expectProblem(
      await widget.createJob(imageJob()),
      401,
      'WIDGET_TOKEN_EXPIRED',
    );
  });

  it('stops at maxJobs', async () => {
    const { client: widget } = await mintToken(client, { maxJobs: 2 });
    expect((await widget.createJob(imageJob())).status).toBe(201);
    expect((await widget.createJob(imageJob())).status).toBe(201);

    const third = await widget.createJob(imageJob());
    expectProblem(third, 403, 'WIDGET_TOKEN_JOB_LIMIT_REACHED');
    contract.check('POST', '/v1/jobs', third);
    expect(third.body.detail).toContain('allows 2 jobs');
  });

  it('counts a replayed key once', async () => {
    const { client: widget } = await mintToken(client, { maxJobs: 1 });
    const first = await widget.createJob(imageJob(), 'widget-replay');
    const again = await widget.createJob(imageJob(), 'widget-replay');
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('keeps its keys apart from an API key', async () => {
    const key = `shared-key-${Date.now()}`;
    const { body: keyJob } = await client.createJob(imageJob(), key);
    const { client: widget } = await mintToken(client);
    const response = await widget.createJob(imageJob(), key);
    expect(response.status).toBe(201);
    expect(response.body.id).not.toBe(keyJob.id);
  });

  it('does not count rejected creates', async () => {
    const { client: widget } = await mintToken(client, { maxJobs: 1 });
    expectProblem(
      await widget.createJob(imageJob({ quality: 500 })),
      400,
      'INVALID_OPTIONS',
    );
    expectProblem(
      await widget.createJob({
        toolSlug: 'image-compress-api',
        input: fileInput('photo.gif', 'image/gif', png),
      }),
      415,
      'UNSUPPORTED_CONTENT_TYPE',
    );
    expect((await widget.createJob(imageJob())).status).toBe(201);
  });

  it('holds maxJobs under concurrent creates', async () => {
    for (let round = 0; round < 5; round++) {
      const { client: widget } = await mintToken(client, { maxJobs: 1 });
      const statuses = (
        await Promise.all([
          widget.createJob(imageJob()),
          widget.createJob(imageJob()),
        ])
      ).map((response) => response.status);
      expect(statuses.sort()).toEqual([201, 403]);
    }

    const { client: widget } = await mintToken(client, { maxJobs: 3 });
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => widget.createJob(imageJob())),
    );
    const created = responses.filter((response) => response.status === 201);
    expect(created).toHaveLength(3);
    expect(new Set(created.map((response) => response.body.id)).size).toBe(3);
    for (const response of responses.filter((r) => r.status !== 201)) {
      expect(response.body.code).toBe('WIDGET_TOKEN_JOB_LIMIT_REACHED');
    }
  });
});

describe('widget token reservations', () => {
  it('are released when creates fail', async () => {
    // Credits for one image job: concurrent creates pass the first credit
    // check, reserve their job, and all but one fail under the lock.
    const credits = findTool('image-compress-api')?.credits ?? 0;
    const poor = await startTestService({
      BORINGKIT_STARTING_CREDITS: String(credits),
    });
    try {
      const owner = new Client(poor.url);
      const { body: token, client: widget } = await mintToken(owner, {
        maxJobs: 4,
      });
      const responses = await Promise.all(
        Array.from({ length: 4 }, () => widget.createJob(imageJob())),
      );
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([201, 402, 402, 402]);

      const events = new Database(join(poor.dataDir, 'events.sqlite'), {
        readonly: true,
      });
      const types = events
        .prepare<[string], { type: string }>(
          'SELECT type FROM events WHERE stream_id = ? ORDER BY revision',
        )
        .all(`widget-token-${token.id}`)
        .map((row) => row.type);
      events.close();
      const count = (type: string) => types.filter((t) => t === type).length;
      expect(count('WidgetTokenJobReserved')).toBe(
        count('WidgetTokenJobReleased') + 1,
      );

      // Each cancel refunds the credits for one more job, and the token
      // still has its three other jobs for them.
      let jobId = responses.find((response) => response.status === 201)?.body
        .id;
      for (let job = 2; job <= 4; job++) {
        await widget.request('POST', `/v1/jobs/${jobId}/cancel`);
        const next = await widget.createJob(imageJob());
        expect(next.status, `job ${job}`).toBe(201);
        jobId = next.body.id;
      }
      await widget.request('POST', `/v1/jobs/${jobId}/cancel`);
      expectProblem(
        await widget.createJob(imageJob()),
        403,
        'WIDGET_TOKEN_JOB_LIMIT_REACHED',
      );
    } finally {
      await poor.stop();
    }
  });
});
