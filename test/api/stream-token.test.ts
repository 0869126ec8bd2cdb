import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../api/logging.ts';
import { loadConfig } from '../../bin/config.ts';
import { startService, type RunningService } from '../../bin/service.ts';
import { Client } from '../support/client.ts';
import { baseEnv, KEY_A, KEY_B, waitFor } from '../support/service.ts';

let dataDir: string;
let service: RunningService;
let client: Client;
let logs = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'boringkit-token-'));
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs += String(chunk);
      callback();
    },
  });
  service = await startService(
    loadConfig(baseEnv(dataDir)),
    ['api'],
    pino(loggerOptions('info'), sink),
  );
  client = new Client(service.url!);
});
afterAll(async () => {
  await service?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Opens the job's stream; resolves with the first message or the status. */
function openStream(
  jobId: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  message?: { type: string; job: { id: string } };
}> {
  const url = `${service.url!.replace('http', 'ws')}/v1/jobs/${jobId}/stream${query}`;
  const socket = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    socket.on('message', (data) => {
      resolve({ status: 101, message: JSON.parse(String(data)) });
      socket.close();
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('error', reject);
  });
}

async function createJob(): Promise<string> {
  const { body } = await client.createJob({
    toolSlug: 'html-to-pdf-api',
    input: {
      kind: 'text',
      contentType: 'text/html',
      text: '<p>token</p>',
      options: {},
    },
  });
  return body.id;
}

describe('job stream token parameter', () => {
  it('accepts an API key as token', async () => {
    const jobId = await createJob();
    const opened = await openStream(jobId, `?token=${KEY_A}`);
    expect(opened.status).toBe(101);
    expect(opened.message?.job.id).toBe(jobId);
  });

  it('rejects an unknown token with 401', async () => {
    const jobId = await createJob();
    const opened = await openStream(jobId, '?token=not-a-key-0123456789');
    expect(opened.status).toBe(401);
  });

  it("returns 404 for another workspace's token", async () => {
    const jobId = await createJob();
    expect((await openStream(jobId, `?token=${KEY_B}`)).status).toBe(404);
  });

  it('rejects a token beside a header', async () => {
    const jobId = await createJob();
    const opened = await openStream(jobId, `?token=${KEY_A}`, {
      authorization: `Bearer ${KEY_A}`,
    });
    expect(opened.status).toBe(401);
  });

  it('rejects a repeated token', async () => {
    const jobId = await createJob();
    const query = `?token=${KEY_A}&token=${KEY_A}`;
    expect((await openStream(jobId, query)).status).toBe(401);
  });

  it('is not accepted on other routes', async () => {
    const jobId = await createJob();
    const response = await fetch(
      `${service.url}/v1/jobs/${jobId}?token=${KEY_A}`,
    );
    expect(response.status).toBe(401);
  });

  it('never reaches the log', async () => {
    const jobId = await createJob();
    await openStream(jobId, `?token=${KEY_A}`);
    await waitFor(() => (logs.includes('token=REDACTED') ? true : undefined), {
      what: 'the stream request in the log',
    });
    expect(logs).not.toContain(KEY_A);
  });
});
