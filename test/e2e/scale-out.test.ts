import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocx } from '../fixtures/make-office.ts';
import { Client, type Json } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import { buildPdf } from '../support/pdf-fixtures.ts';
import {
  baseEnv,
  KEY_A,
  spawnService,
  waitFor,
  type ServiceProcess,
} from '../support/service.ts';

// One shared SQLite log and blob directory, with API and worker processes
// started apart as a deployment would run them.

const run = promisify(execFile);
const STARTING_CREDITS = 1_000;
const JOB_COUNT = 60;

let dataDir: string;
let env: NodeJS.ProcessEnv;
const processes: ServiceProcess[] = [];

function start(
  command: 'start' | 'serve' | 'work',
  extra: NodeJS.ProcessEnv = {},
): ServiceProcess {
  const started = spawnService(command, { ...env, ...extra });
  processes.push(started);
  return started;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'boringkit-scale-out-'));
  env = {
    ...baseEnv(dataDir),
    BORINGKIT_WORKER_CONCURRENCY: '2',
    // Long enough that a busy machine does not expire a live worker's lease.
    BORINGKIT_LEASE_SECONDS: '8',
    BORINGKIT_STARTING_CREDITS: String(STARTING_CREDITS),
  };
});

afterAll(async () => {
  for (const started of processes) {
    if (started.child.exitCode === null) started.child.kill('SIGKILL');
  }
  await Promise.all(processes.map((started) => started.exited));
  await rm(dataDir, { recursive: true, force: true });
});

/** Builds a one-page PDF that contains `text` in Helvetica. */
function textPdf(text: string): Buffer {
  const content = `BT /F1 24 Tf 20 50 Td (${text}) Tj ET`;
  return buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] ' +
      '/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ]);
}

/** Creates the job and uploads its file, if it has one. */
async function submit(
  client: Client,
  toolSlug: string,
  input: Json,
  bytes?: Buffer,
): Promise<string> {
  const { status, body: job } = await client.createJob({ toolSlug, input });
  expect(status, JSON.stringify(job)).toBe(201);
  if (bytes) {
    const upload = await client.upload(job, bytes);
    expect(upload.status, JSON.stringify(upload.body)).toBe(200);
  }
  return job.id as string;
}

/** Sixty jobs of four tools; a quarter of the HTML pages keep Chromium busy. */
async function submitMixedJobs(client: Client): Promise<string[]> {
  const png = await makePng(240, 160);
  const pdf = textPdf('Scaled out');
  const docxPath = join(dataDir, 'letter.docx');
  await makeDocx(docxPath, ['A letter for every worker.']);
  const docx = await readFile(docxPath);
  const docxType =
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

  const ids: string[] = [];
  for (let index = 0; index < JOB_COUNT; index++) {
    switch (index % 4) {
      case 0: {
        const busy =
          index % 16 === 0
            ? '<script>const end = Date.now() + 3000; while (Date.now() < end) {}</script>'
            : '';
        ids.push(
          await submit(client, 'html-to-pdf-api', {
            kind: 'text',
            contentType: 'text/html',
            text: `<p>Job ${index}</p>${busy}`,
            options: {},
          }),
        );
        break;
      }
      case 1:
        ids.push(
          await submit(
            client,
            'image-compress-api',
            fileInput(`${index}.png`, 'image/png', png),
            png,
          ),
        );
        break;
      case 2:
        ids.push(
          await submit(
            client,
            'pdf-to-text',
            fileInput(`${index}.pdf`, 'application/pdf', pdf),
            pdf,
          ),
        );
        break;
      default:
        ids.push(
          await submit(
            client,
            'word-to-pdf',
            fileInput(`${index}.docx`, docxType, docx),
            docx,
          ),
        );
    }
  }
  return ids;
}

interface JobEvent {
  type: string;
  data: Json;
}

async function eventsOf(client: Client, jobId: string): Promise<JobEvent[]> {
  const { body } = await client.request('GET', `/v1/jobs/${jobId}/events`);
  return body.data as JobEvent[];
}

/** Worker ids have the form `{host}-{pid}-{random}`. */
function startedBy(event: JobEvent, pid: number | undefined): boolean {
  return (
    event.type === 'JobStarted' &&
    String(event.data.workerId).includes(`-${String(pid)}-`)
  );
}

function openStream(url: string, jobId: string) {
  const socket = new WebSocket(
    `${url.replace('http', 'ws')}/v1/jobs/${jobId}/stream`,
    { headers: { authorization: `Bearer ${KEY_A}` } },
  );
  const messages: Json[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) =>
    socket.on('close', (code) => resolve(code)),
  );
  return { messages, closed };
}

describe('one shared store, separate processes', () => {
  let client: Client;
  let victim: ServiceProcess;
  let jobIds: string[] = [];

  it('three workers run sixty jobs once each, also after one is killed', async () => {
    const api = start('serve');
    client = new Client(await api.url);
    victim = start('work');
    const workers = [
      victim,
      start('work'),
      // `start` runs the roles that the environment names.
      start('start', { BORINGKIT_ROLE: 'work' }),
    ];

    jobIds = await submitMixedJobs(client);

    // Kill the first worker while it runs an attempt.
    const killedJob = await waitFor(
      async () => {
        const { body } = await client.request(
          'GET',
          '/v1/jobs?status=running&limit=50',
        );
        for (const job of body.data as Json[]) {
          const events = await eventsOf(client, job.id);
          const last = events.filter((event) => event.type === 'JobStarted');
          if (startedBy(last.at(-1)!, victim.child.pid))
            return job.id as string;
        }
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'a job on the victim' },
    );
    victim.child.kill('SIGKILL');
    await victim.exited;

    const finished = await Promise.all(
      jobIds.map((id) =>
        client.waitForStatus(id, ['succeeded', 'failed'], 300_000),
      ),
    );
    for (const job of finished) {
      expect(job.status, JSON.stringify(job.failure)).toBe('succeeded');
    }

    let retried = 0;
    const workerIds = new Set<string>();
    for (const id of jobIds) {
      const events = await eventsOf(client, id);
      for (const event of events) {
        if (event.type === 'JobStarted') workerIds.add(event.data.workerId);
      }
      const count = (type: string) =>
        events.filter((event) => event.type === type).length;
      expect(count('JobSucceeded')).toBe(1);
      expect(count('CreditsCharged')).toBe(1);
      // Every attempt but the last failed, and only the killed worker's.
      const failedAttempts = count('AttemptFailed');
      expect(count('JobStarted')).toBe(failedAttempts + 1);
      const victimAttempts = events.filter((event) =>
        startedBy(event, victim.child.pid),
      ).length;
      const lastStart = events.filter((event) => event.type === 'JobStarted');
      expect(startedBy(lastStart.at(-1)!, victim.child.pid)).toBe(false);
      expect(failedAttempts).toBe(victimAttempts);
      if (failedAttempts > 0) retried += 1;
    }
    expect(retried).toBeGreaterThanOrEqual(1);
    for (const worker of workers) {
      expect(
        [...workerIds].some((id) => id.includes(`-${worker.child.pid}-`)),
      ).toBe(true);
    }
    expect(workers[2]!.output()).not.toContain('listening on');
    expect(
      (await eventsOf(client, killedJob)).filter(
        (event) => event.type === 'AttemptFailed',
      ),
    ).toHaveLength(1);

    const { body: credits } = await client.request('GET', '/v1/credits');
    const charged = finished.reduce(
      (sum, job) => sum + job.credits.charged - job.credits.refunded,
      0,
    );
    expect(credits.balance).toBe(STARTING_CREDITS - charged);
    const signed = { grant: 1, refund: 1, charge: -1 } as const;
    const total = (credits.entries as Json[]).reduce(
      (sum, entry) =>
        sum + signed[entry.kind as keyof typeof signed] * entry.amount,
      0,
    );
    expect(total).toBe(credits.balance);
    expect(
      (credits.entries as Json[]).filter((entry) => entry.kind === 'charge'),
    ).toHaveLength(JOB_COUNT);

    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bin/boringkit.ts', 'replay', '--verify'],
      { env: { ...process.env, ...env } },
    );
    expect(stdout).toContain('matches the log');
  }, 420_000);

  it('two API processes answer and push the same job', async () => {
    const first = processes[0]!;
    const second = start('serve', {
      BORINGKIT_READ_MODEL_PATH: join(dataDir, 'api-2', 'readmodel.sqlite'),
    });
    const urls = [await first.url, await second.url];
    expect(urls[0]).not.toBe(urls[1]);
    const clients = urls.map((url) => new Client(url));

    const png = await makePng(200, 120);
    const { body: job } = await clients[1]!.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('shared.png', 'image/png', png),
    });
    const streams = urls.map((url) => openStream(url, job.id));
    for (const stream of streams) {
      await waitFor(() => stream.messages[0], { what: 'the first message' });
    }
    expect((await clients[0]!.upload(job, png)).status).toBe(200);

    for (const stream of streams) {
      expect(await stream.closed).toBe(1000);
      const stages = stream.messages.map((message) => message.job.stage);
      // A projection batch may fold several changes into one message, so
      // the stages between these two may or may not be seen.
      expect(stages[0]).toBe('awaiting_upload');
      expect(stages.at(-1)).toBe('done');
      expect(stream.messages.at(-1).job.status).toBe('succeeded');
    }
    const [one, two] = await Promise.all(
      clients.map((client) => client.getJob(job.id)),
    );
    expect(one!.body.status).toBe('succeeded');
    expect(two!.body).toEqual(one!.body);
  }, 120_000);

  it('a stopping API finishes its upload and closes streams', async () => {
    const api = start('serve', {
      BORINGKIT_READ_MODEL_PATH: join(dataDir, 'api-3', 'readmodel.sqlite'),
    });
    const apiClient = new Client(await api.url);
    const png = await makePng(200, 120);
    const { body: job } = await apiClient.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('slow.png', 'image/png', png),
    });

    const stream = openStream(await api.url, job.id);
    await waitFor(() => stream.messages[0], { what: 'the first message' });
    const target = new URL(job.uploadIntent.url as string);
    const answered = new Promise<number>((resolve, reject) => {
      const put = httpRequest(target, {
        method: 'PUT',
        headers: {
          'content-type': 'image/png',
          'content-length': png.length,
        },
      });
      put.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      put.on('error', reject);
      put.write(png.subarray(0, 100));
      // The rest of the body is sent after the API received SIGTERM.
      setTimeout(() => {
        api.child.kill('SIGTERM');
        setTimeout(() => put.end(png.subarray(100)), 500);
      }, 300);
    });

    expect(await answered).toBe(200);
    expect(await api.exited).toBe(0);
    // Streams close with 1001 (going away), so clients reconnect.
    expect(await stream.closed).toBe(1001);
    const other = new Client(await processes[0]!.url);
    const finished = await other.waitForStatus(job.id, ['succeeded'], 60_000);
    expect(finished.input.sizeBytes).toBe(png.length);
  }, 120_000);
});
