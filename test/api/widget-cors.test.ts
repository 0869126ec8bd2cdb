import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Json } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import { ContractChecker } from '../support/openapi.ts';
import {
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';
import { mintToken, PAGE_ORIGIN } from '../support/widget-tokens.ts';

const FOREIGN_ORIGIN = 'https://foreign.example';

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

const imageJob = () => ({
  toolSlug: 'image-compress-api',
  input: fileInput('photo.png', 'image/png', png),
});

async function preflight(url: string, origin: string, method: string) {
  const response = await fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Json) : undefined,
  };
}

/** Opens a job's stream; resolves with the first message or the status. */
function openStream(
  jobId: string,
  token: string,
  origin?: string,
): Promise<{ status: number; jobId?: string }> {
  const url = `${service.url.replace('http', 'ws')}/v1/jobs/${jobId}/stream`;
  const socket = new WebSocket(`${url}?token=${token}`, { origin });
  return new Promise((resolve, reject) => {
    socket.on('message', (data) => {
      resolve({ status: 101, jobId: JSON.parse(String(data)).job.id });
      socket.close();
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('error', reject);
  });
}

describe('CORS on /v1 requests', () => {
  it("allows the token's origins", async () => {
    const { client: widget } = await mintToken(client);
    const response = await widget.request('GET', '/v1/tools', undefined, {
      origin: PAGE_ORIGIN,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(
      PAGE_ORIGIN,
    );
    expect(response.headers.get('vary')).toBe('Origin');
    expect(response.headers.get('access-control-expose-headers')).toBe(
      'Idempotent-Replayed',
    );
  });

  it('rejects other origins', async () => {
    const { client: widget } = await mintToken(client);
    const before = (await client.request('GET', '/v1/jobs')).body.data.length;
    const response = await widget.request('POST', '/v1/jobs', imageJob(), {
      origin: FOREIGN_ORIGIN,
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(response.body.detail).toContain(FOREIGN_ORIGIN);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    contract.check('POST', '/v1/jobs', response);
    const after = (await client.request('GET', '/v1/jobs')).body.data.length;
    expect(after).toBe(before);
  });

  it('sends API keys no CORS headers', async () => {
    const response = await client.request('GET', '/v1/tools', undefined, {
      origin: PAGE_ORIGIN,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps CORS headers on errors', async () => {
    const { client: widget } = await mintToken(client, { maxJobs: 1 });
    const headers = { origin: PAGE_ORIGIN };
    await widget.request('POST', '/v1/jobs', imageJob(), headers);
    const responses = [
      await widget.request('GET', '/v1/credits', undefined, headers),
      await widget.request('POST', '/v1/jobs', imageJob(), headers),
      await widget.request('GET', '/v1/jobs/job_01JF8Z5QK00000000000000000'),
    ];
    expect(responses.map((response) => response.status)).toEqual([
      403, 403, 404,
    ]);
    expect(
      responses
        .slice(0, 2)
        .map((response) => response.headers.get('access-control-allow-origin')),
    ).toEqual([PAGE_ORIGIN, PAGE_ORIGIN]);
  });

  it('keeps CORS headers on an expired token', async () => {
    const { body: token, client: widget } = await mintToken(client, {
      expiresInSeconds: 1,
    });
    await waitFor(
      () => (Date.now() > Date.parse(token.expiresAt) + 50 ? true : undefined),
      { what: 'the token to expire' },
    );
    const response = await widget.request('GET', '/v1/tools', undefined, {
      origin: PAGE_ORIGIN,
    });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('WIDGET_TOKEN_EXPIRED');
    expect(response.headers.get('access-control-allow-origin')).toBe(
      PAGE_ORIGIN,
    );
  });
});

describe('CORS preflight', () => {
  it('allows origins of live tokens', async () => {
    const origin = 'http://127.0.0.1:3001';
    await mintToken(client, { origins: [origin] });
    const response = await preflight(`${service.url}/v1/jobs`, origin, 'POST');
    expect(response.status).toBe(204);
    contract.check('OPTIONS', '/v1/jobs', response);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-methods')).toBe('POST');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'Authorization, Content-Type, Idempotency-Key',
    );
    expect(response.headers.get('access-control-max-age')).toBe('600');

    const job = await preflight(
      `${service.url}/v1/jobs/job_01JF8Z5QK00000000000000000`,
      origin,
      'GET',
    );
    expect(job.status).toBe(204);
  });

  it('rejects origins no token allows', async () => {
    const response = await preflight(
      `${service.url}/v1/jobs`,
      'https://never-minted.example',
      'POST',
    );
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    contract.check('OPTIONS', '/v1/jobs', response);
  });

  it('explains why the null origin cannot be allowed', async () => {
    const response = await preflight(`${service.url}/v1/jobs`, 'null', 'POST');
    expect(response.status).toBe(403);
    expect(response.body.detail).toContain('No token can allow it');
    expect(response.body.detail).not.toContain('"origins": ["null"]');
  });

  it('rejects methods closed to tokens', async () => {
    await mintToken(client);
    const list = await preflight(`${service.url}/v1/jobs`, PAGE_ORIGIN, 'GET');
    expect(list.status).toBe(403);
    expect(list.body.code).toBe('WIDGET_TOKEN_NOT_ALLOWED');
    expect(list.headers.get('access-control-allow-origin')).toBeNull();

    const credits = await preflight(
      `${service.url}/v1/credits`,
      PAGE_ORIGIN,
      'GET',
    );
    expect(credits.status).toBe(404);
    expect(credits.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('stops once the tokens expired', async () => {
    const origin = 'http://127.0.0.1:3002';
    const { body: token } = await mintToken(client, {
      origins: [origin],
      expiresInSeconds: 1,
    });
    const url = `${service.url}/v1/tools`;
    expect((await preflight(url, origin, 'GET')).status).toBe(204);
    await waitFor(
      () => (Date.now() > Date.parse(token.expiresAt) + 50 ? true : undefined),
      { what: 'the token to expire' },
    );
    expect((await preflight(url, origin, 'GET')).status).toBe(403);
  });

  it('rejects OPTIONS without preflight headers', async () => {
    const response = await fetch(`${service.url}/v1/jobs`, {
      method: 'OPTIONS',
    });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe('INVALID_REQUEST');
  });
});

describe('CORS on signed URLs', () => {
  it("opens a token's job to its origins", async () => {
    const { client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    const uploadUrl = job.uploadIntent.url;

    const allowed = await preflight(uploadUrl, PAGE_ORIGIN, 'PUT');
    expect(allowed.status).toBe(204);
    contract.check('OPTIONS', '/blobs/jobs/{id}/input', allowed);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(
      PAGE_ORIGIN,
    );
    expect(allowed.headers.get('access-control-allow-headers')).toBe(
      'Content-Type',
    );
    const foreign = await preflight(uploadUrl, FOREIGN_ORIGIN, 'PUT');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const upload = await fetch(uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'image/png', origin: PAGE_ORIGIN },
      body: new Uint8Array(png),
    });
    expect(upload.status).toBe(200);
    expect(upload.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);

    await widget.waitForStatus(job.id, ['succeeded']);
    const intent = await widget.request(
      'GET',
      `/v1/jobs/${job.id}/download-intent`,
    );
    const download = await fetch(intent.body.url, {
      headers: { origin: PAGE_ORIGIN },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get('access-control-allow-origin')).toBe(
      PAGE_ORIGIN,
    );
    const foreignDownload = await fetch(intent.body.url, {
      headers: { origin: FOREIGN_ORIGIN },
    });
    expect(foreignDownload.headers.get('access-control-allow-origin')).toBe(
      null,
    );
  });

  it('keeps API-key jobs closed', async () => {
    await mintToken(client);
    const { body: job } = await client.createJob(imageJob());
    const uploadUrl = job.uploadIntent.url;
    const refused = await preflight(uploadUrl, PAGE_ORIGIN, 'PUT');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    const upload = await fetch(uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'image/png', origin: PAGE_ORIGIN },
      body: new Uint8Array(png),
    });
    expect(upload.status).toBe(200);
    expect(upload.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('job stream Origin check', () => {
  it("accepts the token's origin", async () => {
    const { body: token, client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    const opened = await openStream(job.id, token.token, PAGE_ORIGIN);
    expect(opened.status).toBe(101);
    expect(opened.jobId).toBe(job.id);
  });

  it('accepts a server without Origin', async () => {
    const { body: token, client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    expect((await openStream(job.id, token.token)).status).toBe(101);
  });

  it('rejects a foreign origin', async () => {
    const { body: token, client: widget } = await mintToken(client);
    const { body: job } = await widget.createJob(imageJob());
    const opened = await openStream(job.id, token.token, FOREIGN_ORIGIN);
    expect(opened.status).toBe(403);
  });

  it("rejects another credential's job", async () => {
    const { body: token } = await mintToken(client);
    const { body: job } = await client.createJob(imageJob());
    expect((await openStream(job.id, token.token, PAGE_ORIGIN)).status).toBe(
      404,
    );
  });
});
