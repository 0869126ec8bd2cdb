import { Validator } from '@seriousme/openapi-schema-validator';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Json } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import { ContractChecker, type LiveResponse } from '../support/openapi.ts';
import {
  KEY_A,
  KEY_B,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';

let service: TestService;
let client: Client;
let contract: ContractChecker;
let png: Buffer;

beforeAll(async () => {
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '20' });
  client = new Client(service.url);
  png = await makePng(64, 48);
  const response = await fetch(`${service.url}/v1/openapi.json`);
  contract = new ContractChecker(await response.json());
});
afterAll(() => service.stop());

const imageJob = (options = {}) => ({
  toolSlug: 'image-compress-api',
  input: fileInput('photo.png', 'image/png', png, options),
});

async function fetchLive(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  if (response.headers.get('content-type')?.includes('json')) {
    body = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, body };
}

function expectProblem(
  live: LiveResponse,
  method: string,
  path: string,
  status: number,
  code: string,
) {
  expect(live.status).toBe(status);
  expect((live.body as Json).code).toBe(code);
  contract.check(method, path, live);
}

describe('OpenAPI document', () => {
  it('is served without a key', async () => {
    const response = await fetch(`${service.url}/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(contract.document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has schemas that compile as JSON Schema', () => {
    const schemas = Object.entries<Json>(contract.document.components.schemas);
    expect(schemas.length).toBeGreaterThan(10);
    for (const [name, schema] of schemas) {
      expect(() => contract.compile(schema), name).not.toThrow();
    }
  });

  it('documents every route of the app', () => {
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Json>(contract.document.paths)) {
      for (const method of Object.keys(item)) {
        documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
    const routes = service.service.routes
      .filter((route) => route.method !== 'HEAD')
      .map(
        (route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`,
      );
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) expect(documented).toContain(route);
    for (const operation of documented) expect(routes).toContain(operation);
  });

  it('lists every problem code of the API', () => {
    const description: string = contract.document.info.description;
    for (const code of [
      'JOB_NOT_FOUND',
      'UPLOAD_SIZE_MISMATCH',
      'JOB_NOT_CANCELABLE',
      'JOB_NOT_FINISHED',
      'JOB_NOT_SUCCEEDED',
      'OUTPUT_EXPIRED',
      'IDEMPOTENCY_KEY_REUSED',
      'IDEMPOTENCY_KEY_IN_FLIGHT',
      'INSUFFICIENT_CREDITS',
      'UNAUTHORIZED',
      'WIDGET_TOKEN_EXPIRED',
      'WIDGET_TOKEN_NOT_ALLOWED',
      'WIDGET_TOKEN_TOOL_NOT_ALLOWED',
      'WIDGET_TOKEN_JOB_LIMIT_REACHED',
      'ORIGIN_NOT_ALLOWED',
    ]) {
      expect(description).toContain(code);
    }
  });

  it('documents the idempotency headers', () => {
    const create = contract.document.paths['/v1/jobs'].post;
    const names = create.parameters.map((parameter: Json) => parameter.name);
    expect(names).toContain('Idempotency-Key');
    expect(create.responses['200'].headers).toHaveProperty(
      'Idempotent-Replayed',
    );
  });

  it('describes the stream as a WebSocket', () => {
    const stream = contract.document.paths['/v1/jobs/{id}/stream'].get;
    expect(stream.description).toContain('WebSocket');
    expect(stream.responses).toHaveProperty('101');
  });
});

describe('reference page', () => {
  it('renders every operation without scripts', async () => {
    const response = await fetch(`${service.url}/docs`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain(
      "default-src 'none'",
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    for (const path of Object.keys(contract.document.paths)) {
      expect(html).toContain(`<code>${path}</code>`);
    }
    expect(html).toContain('IDEMPOTENCY_KEY_REUSED');
  });

  it('matches the document', async () => {
    const live = await fetchLive(`${service.url}/docs`);
    contract.check('GET', '/docs', live);
  });
});

describe('live responses', () => {
  it('job lifecycle matches the document', async () => {
    const created = await client.createJob(imageJob({ quality: 70 }));
    expect(created.status).toBe(201);
    contract.check('POST', '/v1/jobs', created);
    const job = created.body;

    const upload = await fetchLive(job.uploadIntent.url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(png),
    });
    expect(upload.status).toBe(200);
    contract.check('PUT', '/blobs/jobs/{id}/input', upload);

    await client.waitForStatus(job.id, ['succeeded']);
    contract.check('GET', '/v1/jobs/{id}', await client.getJob(job.id));

    const intent = await client.request(
      'GET',
      `/v1/jobs/${job.id}/download-intent`,
    );
    expect(intent.status).toBe(200);
    contract.check('GET', '/v1/jobs/{id}/download-intent', intent);

    const download = await fetchLive(intent.body.url);
    expect(download.status).toBe(200);
    contract.check('GET', '/blobs/jobs/{id}/output', download);

    const events = await client.request('GET', `/v1/jobs/${job.id}/events`);
    contract.check('GET', '/v1/jobs/{id}/events', events);

    const closed = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expect(closed.status).toBe(200);
    contract.check('POST', '/v1/jobs/{id}/close', closed);
  });

  it('idempotent replay matches the document', async () => {
    const key = `openapi-replay-${Date.now()}`;
    await client.createJob(imageJob(), key);
    const replay = await client.createJob(imageJob(), key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    contract.check('POST', '/v1/jobs', replay);

    const mismatch = await client.createJob(imageJob({ quality: 10 }), key);
    expectProblem(mismatch, 'POST', '/v1/jobs', 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('list, cancel, renew, credits and tools match', async () => {
    const { body: job } = await client.createJob(imageJob());
    const renewed = await client.request(
      'POST',
      `/v1/jobs/${job.id}/upload-intent`,
    );
    contract.check('POST', '/v1/jobs/{id}/upload-intent', renewed);

    const list = await client.request('GET', '/v1/jobs?status=queued&limit=2');
    expect(list.body.data.length).toBeGreaterThan(0);
    contract.check('GET', '/v1/jobs', list);

    const canceled = await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    expect(canceled.body.status).toBe('canceled');
    contract.check('POST', '/v1/jobs/{id}/cancel', canceled);

    contract.check(
      'GET',
      '/v1/credits',
      await client.request('GET', '/v1/credits'),
    );
    contract.check(
      'GET',
      '/v1/tools',
      await client.request('GET', '/v1/tools'),
    );
    contract.check(
      'GET',
      '/v1/tools/{slug}',
      await client.request('GET', '/v1/tools/pdf-to-text'),
    );
    contract.check(
      'GET',
      '/healthz',
      await fetchLive(`${service.url}/healthz`),
    );
  });

  it('widget token access matches the document', async () => {
    const minted = await client.request('POST', '/v1/widget-tokens', {
      tools: ['image-compress-api'],
      origins: ['https://shop.example'],
    });
    contract.check('POST', '/v1/widget-tokens', minted);
    let checked = 0;
    for (const [path, item] of Object.entries<Json>(contract.document.paths)) {
      // The stream is a WebSocket, tested in widget-cors.test.ts.
      if (!path.startsWith('/v1/') || path.endsWith('/stream')) continue;
      for (const [method, operation] of Object.entries<Json>(item)) {
        const security: Json[] =
          operation.security ?? contract.document.security;
        if (method === 'options' || security.length === 0) continue;
        const url = path
          .replace('{id}', 'job_01JF8Z5QK00000000000000000')
          .replace('{slug}', 'pdf-to-text');
        const response = await fetchLive(service.url + url, {
          method: method.toUpperCase(),
          headers: {
            authorization: `Bearer ${minted.body.token}`,
            'content-type': 'application/json',
          },
          body: method === 'post' ? '{}' : undefined,
        });
        const open = security.some((scheme) => 'widgetToken' in scheme);
        const rejected =
          (response.body as Json).code === 'WIDGET_TOKEN_NOT_ALLOWED';
        expect(rejected, `${method} ${path}`).toBe(!open);
        contract.check(method, path, response);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('stream messages match the 101 frame schema', async () => {
    const { body: job } = await client.createJob(imageJob());
    const socket = new WebSocket(
      `${service.url.replace('http', 'ws')}/v1/jobs/${job.id}/stream`,
      { headers: { authorization: `Bearer ${KEY_A}` } },
    );
    const messages: Json[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await waitFor(() => messages[0], { what: 'the first message' });
    await client.upload(job, png);
    await closed;

    const frame = contract.responseOf('GET', '/v1/jobs/{id}/stream', 101);
    const validate = contract.compile(frame.content['application/json'].schema);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) {
      expect(validate(message), JSON.stringify(validate.errors)).toBe(true);
    }
  });
});

describe('problem responses', () => {
  it('missing key is a documented 401', async () => {
    const live = await fetchLive(`${service.url}/v1/jobs`);
    expectProblem(live, 'GET', '/v1/jobs', 401, 'UNAUTHORIZED');
  });

  it('unknown job is a documented 404', async () => {
    const live = await client.getJob('job_01JF8Z5QK00000000000000000');
    expectProblem(live, 'GET', '/v1/jobs/{id}', 404, 'JOB_NOT_FOUND');
  });

  it('unknown tool is a documented 404', async () => {
    const live = await client.request('GET', '/v1/tools/no-such-tool');
    expectProblem(live, 'GET', '/v1/tools/{slug}', 404, 'TOOL_NOT_FOUND');
  });

  it('invalid options are a documented 400', async () => {
    const live = await client.createJob(imageJob({ quality: 500 }));
    expectProblem(live, 'POST', '/v1/jobs', 400, 'INVALID_OPTIONS');
    expect((live.body as Json).errors[0].path).toBe('input.options.quality');
  });

  it('bad cursor is a documented 400', async () => {
    const live = await client.request('GET', '/v1/jobs?cursor=bad');
    expectProblem(live, 'GET', '/v1/jobs', 400, 'INVALID_REQUEST');
  });

  it('wrong content type is a documented 415', async () => {
    const live = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('photo.gif', 'image/gif', png),
    });
    expectProblem(live, 'POST', '/v1/jobs', 415, 'UNSUPPORTED_CONTENT_TYPE');
  });

  it('short balance is a documented 402', async () => {
    const poor = new Client(service.url, KEY_B);
    let live = await poor.createJob(imageJob());
    for (let attempt = 0; attempt < 25 && live.status === 201; attempt++) {
      live = await poor.createJob(imageJob());
    }
    expectProblem(live, 'POST', '/v1/jobs', 402, 'INSUFFICIENT_CREDITS');
  });

  it('job commands in the wrong state are documented 409s', async () => {
    const { body: job } = await client.createJob(imageJob());
    const close = await client.request('POST', `/v1/jobs/${job.id}/close`);
    expectProblem(
      close,
      'POST',
      '/v1/jobs/{id}/close',
      409,
      'JOB_NOT_FINISHED',
    );

    const download = await client.request(
      'GET',
      `/v1/jobs/${job.id}/download-intent`,
    );
    expectProblem(
      download,
      'GET',
      '/v1/jobs/{id}/download-intent',
      409,
      'JOB_NOT_SUCCEEDED',
    );

    await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    const cancel = await client.request('POST', `/v1/jobs/${job.id}/cancel`);
    expectProblem(
      cancel,
      'POST',
      '/v1/jobs/{id}/cancel',
      409,
      'JOB_NOT_CANCELABLE',
    );
  });

  it('upload problems are documented', async () => {
    const { body: job } = await client.createJob(imageJob());
    const short = await fetchLive(job.uploadIntent.url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(png.subarray(0, 10)),
    });
    expectProblem(
      short,
      'PUT',
      '/blobs/jobs/{id}/input',
      400,
      'UPLOAD_SIZE_MISMATCH',
    );

    const tampered = await fetchLive(
      job.uploadIntent.url.replace(/signature=[^&]+/, 'signature=forged'),
      {
        method: 'PUT',
        headers: { 'content-type': 'image/png' },
        body: new Uint8Array(png),
      },
    );
    expectProblem(
      tampered,
      'PUT',
      '/blobs/jobs/{id}/input',
      403,
      'INVALID_SIGNATURE',
    );
  });
});
