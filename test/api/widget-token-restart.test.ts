import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../api/logging.ts';
import { loadConfig } from '../../bin/config.ts';
import { startService, type RunningService } from '../../bin/service.ts';
import { Client, type Json } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import { baseEnv, waitFor } from '../support/service.ts';
import { mintToken, PAGE_ORIGIN } from '../support/widget-tokens.ts';

const run = promisify(execFile);

let dataDir: string;
let service: RunningService | undefined;
let logs = '';

/** Starts the API alone on the test's data dir, logging into `logs`. */
async function start(): Promise<Client> {
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
  return new Client(service.url!);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'boringkit-widget-restart-'));
});
afterAll(async () => {
  await service?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const textJob = {
  toolSlug: 'html-to-pdf-api',
  input: {
    kind: 'text',
    contentType: 'text/html',
    text: '<p>restart</p>',
    options: {},
  },
};

/** Opens a job's stream with a token; resolves with the first message. */
function firstMessage(url: string, jobId: string, token: string) {
  const socket = new WebSocket(
    `${url.replace('http', 'ws')}/v1/jobs/${jobId}/stream?token=${token}`,
    { origin: PAGE_ORIGIN },
  );
  return new Promise<Json>((resolve, reject) => {
    socket.on('message', (data) => {
      resolve(JSON.parse(String(data)));
      socket.close();
    });
    socket.on('error', reject);
  });
}

describe('widget tokens across a restart', () => {
  let token: Json;
  let jobId: string;

  it('survive the restart with their job count', async () => {
    const before = await start();
    const minted = await mintToken(before, {
      tools: ['html-to-pdf-api'],
      maxJobs: 1,
    });
    token = minted.body;
    const created = await minted.client.createJob(textJob);
    expect(created.status).toBe(201);
    jobId = created.body.id;
    await service?.close();
    service = undefined;

    const after = await start();
    const widget = new Client(after.url, token.token);
    expect((await widget.request('GET', '/v1/tools')).status).toBe(200);
    expect((await widget.getJob(jobId)).status).toBe(200);
    const message = await firstMessage(after.url, jobId, token.token);
    expect(message.job.id).toBe(jobId);

    const second = await widget.createJob({
      ...textJob,
      input: { ...textJob.input, text: '<p>again</p>' },
    });
    expect(second.status).toBe(403);
    expect(second.body.code).toBe('WIDGET_TOKEN_JOB_LIMIT_REACHED');
  });

  it('answers preflights after the restart', async () => {
    const response = await fetch(`${service!.url!}/v1/jobs`, {
      method: 'OPTIONS',
      headers: {
        origin: PAGE_ORIGIN,
        'access-control-request-method': 'POST',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(
      PAGE_ORIGIN,
    );
  });

  it('never logs the token', async () => {
    await waitFor(() => (logs.includes('token=REDACTED') ? true : undefined), {
      what: 'the stream request in the log',
    });
    expect(logs).toContain('widget token issued');
    expect(logs).toContain(token.id);
    const secret = String(token.token).split('.')[1];
    expect(logs).not.toContain(secret);
  });

  it('keeps replay --verify matching', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bin/boringkit.ts', 'replay', '--verify'],
      { env: { ...process.env, ...baseEnv(dataDir) } },
    );
    expect(stdout).toContain('matches the log');
  }, 60_000);

  it('keeps the tool scope after the restart', async () => {
    const widget = new Client(service!.url!, token.token);
    const response = await widget.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('photo.png', 'image/png', Buffer.alloc(10)),
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('WIDGET_TOKEN_TOOL_NOT_ALLOWED');
  });
});
