import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Json } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  KEY_A,
  KEY_B,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';

let service: TestService;
let client: Client;

beforeAll(async () => {
  service = await startTestService();
  client = new Client(service.url);
});
afterAll(() => service.stop());

function open(jobId: string, key = KEY_A) {
  const socket = new WebSocket(
    `${service.url.replace('http', 'ws')}/v1/jobs/${jobId}/stream`,
    {
      headers: { authorization: `Bearer ${key}` },
    },
  );
  const messages: Json[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) =>
    socket.on('close', (code) => resolve(code)),
  );
  const failed = new Promise<number>((resolve) =>
    socket.on('unexpected-response', (_request, response) =>
      resolve(response.statusCode ?? 0),
    ),
  );
  return { socket, messages, closed, failed };
}

describe('job stream', () => {
  it('sends the job at once, every change, then closes', async () => {
    const png = await makePng(300, 200);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('live.png', 'image/png', png),
    });
    const stream = open(job.id);
    await waitFor(() => stream.messages[0], { what: 'the first message' });
    expect(stream.messages[0].type).toBe('job');
    expect(stream.messages[0].job.stage).toBe('awaiting_upload');

    await client.upload(job, png);
    expect(await stream.closed).toBe(1000);
    const stages = stream.messages.map((message) => message.job.stage);
    expect(stages).toContain('ready');
    expect(stages).toContain('processing');
    expect(stream.messages.at(-1).job.status).toBe('succeeded');
    expect(stream.messages.at(-1).job.output.contentType).toBe('image/jpeg');
  });

  it('another workspace is refused with 404', async () => {
    const { body: job } = await client.createJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: '<p>mine</p>',
        options: {},
      },
    });
    const stream = open(job.id, KEY_B);
    expect(await stream.failed).toBe(404);
  });
});
