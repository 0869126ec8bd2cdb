import { existsSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Json } from '../support/client.ts';
import { freePort } from '../client/restartable-service.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  KEY_A,
  startTestService,
  type TestService,
} from '../support/service.ts';
import {
  jsonLines,
  runCli,
  unprivilegedUser,
  type CliOptions,
} from './cli-process.ts';

let service: TestService;
let api: Client;
let workDir: string;
let png: Buffer;

beforeAll(async () => {
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '1000' });
  api = new Client(service.url);
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-cli-checks-'));
  // Open to every user, so the command can run as an unprivileged one.
  await chmod(workDir, 0o755);
  png = await makePng(160, 100);
});
afterAll(async () => {
  await service.stop();
  await rm(workDir, { recursive: true, force: true });
});

function cli(args: string[], options: Partial<CliOptions> = {}) {
  return runCli(args, {
    cwd: workDir,
    ...options,
    env: {
      BORINGKIT_API_URL: service.url,
      BORINGKIT_API_KEY: KEY_A,
      ...options.env,
    },
  });
}

/** Writes a PNG readable by every user under a name no other test uses. */
async function writePng(name: string): Promise<string> {
  const path = join(workDir, name);
  await writeFile(path, png, { mode: 0o644 });
  return path;
}

async function jobsNamed(name: string): Promise<Json[]> {
  const { body } = await api.request('GET', '/v1/jobs?limit=100');
  return body.data.filter((job: Json) => job.input.name === name);
}

function createdJobId(stderr: string): string {
  const id = /job (job_\w+) created/.exec(stderr)?.[1];
  if (!id) throw new Error(`no created job in:\n${stderr}`);
  return id;
}

describe('convert checks before creating a job', () => {
  it('rejects an input it cannot read', async () => {
    const path = await writePng('locked.png');
    await chmod(path, 0o000);
    const { code, stderr } = await cli(
      ['convert', 'image-compress-api', path],
      {
        user: unprivilegedUser(),
      },
    );
    expect(code).toBe(2);
    expect(stderr).toContain(path);
    expect(stderr).toContain('permission denied');
    expect(await jobsNamed('locked.png')).toEqual([]);
  });

  it('rejects a directory as input', async () => {
    const path = join(workDir, 'folder.png');
    await mkdir(path);
    const { code, stderr } = await cli(['convert', 'image-compress-api', path]);
    expect(code).toBe(2);
    expect(stderr).toContain(path);
    expect(await jobsNamed('folder.png')).toEqual([]);
  });

  it('rejects a missing output directory', async () => {
    const path = await writePng('to-missing.png');
    const missing = join(workDir, 'missing');
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      path,
      '-o',
      join(missing, 'out.jpg'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain(missing);
    expect(existsSync(missing)).toBe(false);
    expect(await jobsNamed('to-missing.png')).toEqual([]);
  });

  it('rejects an output directory it cannot write', async () => {
    const path = await writePng('to-read-only.png');
    const readOnly = join(workDir, 'read-only');
    await mkdir(readOnly, { mode: 0o555 });
    const { code, stderr } = await cli(
      ['convert', 'image-compress-api', path, '-o', join(readOnly, 'out.jpg')],
      { user: unprivilegedUser() },
    );
    expect(code).toBe(2);
    expect(stderr).toContain(readOnly);
    expect(await jobsNamed('to-read-only.png')).toEqual([]);
  });

  it('rejects an unknown extension', async () => {
    const path = join(workDir, 'photo.xyz');
    await writeFile(path, png);
    const { code, stderr } = await cli(['convert', 'image-compress-api', path]);
    expect(code).toBe(2);
    expect(stderr).toContain('--content-type');
    expect(stderr).toContain('image/png, image/jpeg, image/webp');
    expect(await jobsNamed('photo.xyz')).toEqual([]);
  });

  it('takes --content-type for an unknown extension', async () => {
    const path = join(workDir, 'labeled.xyz');
    await writeFile(path, png);
    const { code, stdout } = await cli([
      'convert',
      'image-compress-api',
      path,
      '--content-type',
      'image/png',
    ]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('labeled.jpg');
  });
});

describe('convert after a failed upload', () => {
  it('cancels the job it created', async () => {
    const path = await writePng('mislabeled.png');
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      path,
      '--content-type',
      'image/jpeg',
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain('UPLOAD_CONTENT_INVALID');

    const id = createdJobId(stderr);
    const { body: job } = await api.getJob(id);
    expect(job.status).toBe('canceled');
    expect(job.credits.refunded).toBe(job.credits.charged);
    expect(stderr).toContain(`job ${id} canceled`);
  });
});

describe('convert after a lost upload reply', () => {
  let proxy: FaultProxy;
  let proxied: TestService;
  let apiUrl: string;

  beforeAll(async () => {
    // Signed URLs lead through the proxy, so it can drop the PUT's reply,
    // and the API itself is reached directly on its own port.
    const port = await freePort();
    proxy = await FaultProxy.start(port);
    proxied = await startTestService({
      PORT: String(port),
      BORINGKIT_PUBLIC_URL: proxy.url,
    });
    apiUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await proxy.close();
    await proxied.stop();
  });

  it('keeps a job whose upload arrived', async () => {
    proxy.dropResponses('PUT', '/blobs/');
    const path = await writePng('lost-reply.png');
    const { code, stderr } = await cli(
      ['convert', 'image-compress-api', path, '-o', 'lost-reply.jpg'],
      { env: { BORINGKIT_API_URL: apiUrl } },
    );
    expect(proxy.counts.dropped).toBe(1);
    expect(stderr).not.toContain('canceling');
    expect(code).toBe(0);
    const jpeg = await readFile(join(workDir, 'lost-reply.jpg'));
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });
});

describe('convert --json', () => {
  it('writes only JSON lines to stderr', async () => {
    const path = await writePng('json-progress.png');
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      path,
      '-o',
      'json-progress.jpg',
      '--json',
    ]);
    expect(code).toBe(0);
    const lines = jsonLines(stderr) as Json[];
    const events = lines.map((line) => line.event);
    expect(events).toContain('created');
    expect(events).toContain('upload');
    expect(events).toContain('download');
    const jobEvents = lines.filter((line) => line.event === 'job');
    expect(jobEvents.at(-1)).toMatchObject({
      event: 'job',
      status: 'succeeded',
      progress: 100,
    });
  });

  it('writes a failed upload as JSON lines', async () => {
    const path = await writePng('json-mislabeled.png');
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      path,
      '--content-type',
      'image/jpeg',
      '--json',
    ]);
    expect(code).toBe(3);
    const lines = jsonLines(stderr) as Json[];
    const [created] = lines;
    expect(created.event).toBe('created');
    expect(lines).toContainEqual({
      event: 'canceled',
      jobId: created.jobId,
      reason: 'upload_failed',
      creditsRefunded: 1,
    });
    expect(lines.at(-1).error.code).toBe('UPLOAD_CONTENT_INVALID');
  });

  it('writes a file error as one JSON line', async () => {
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      join(workDir, 'absent.png'),
      '--json',
    ]);
    expect(code).toBe(2);
    const lines = jsonLines(stderr) as Json[];
    expect(lines).toHaveLength(1);
    expect(lines[0].error.detail).toContain('absent.png');
  });
});

describe('jobs download', () => {
  let jobId: string;
  let converted: Buffer;

  beforeAll(async () => {
    const path = await writePng('to-download.png');
    const { code, stdout } = await cli([
      'convert',
      'image-compress-api',
      path,
      '-o',
      'first.jpg',
      '--json',
    ]);
    expect(code).toBe(0);
    jobId = JSON.parse(stdout).job.id;
    converted = await readFile(join(workDir, 'first.jpg'));
  });

  it('saves the output to -o', async () => {
    const { code, stdout } = await cli([
      'jobs',
      'download',
      jobId,
      '-o',
      'again.jpg',
    ]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('again.jpg');
    expect(await readFile(join(workDir, 'again.jpg'))).toEqual(converted);
  });

  it('names the file after the output', async () => {
    const cwd = await mkdtemp(join(workDir, 'download-'));
    const first = await cli(['jobs', 'download', jobId, '--json'], { cwd });
    const second = await cli(['jobs', 'download', jobId], { cwd });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      output: 'to-download.jpg',
      jobId,
      sizeBytes: converted.length,
    });
    expect(second.stdout.trim()).toBe('to-download-1.jpg');
    expect(await readFile(join(cwd, 'to-download-1.jpg'))).toEqual(converted);
  });

  it('rejects a job without output', async () => {
    const { body: job } = await api.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('never-uploaded.png', 'image/png', png),
    });
    const { code, stderr } = await cli(['jobs', 'download', job.id]);
    expect(code).toBe(3);
    expect(stderr).toContain('JOB_NOT_SUCCEEDED');
  });

  it('rejects a missing output directory', async () => {
    const missing = join(workDir, 'missing-download');
    const { code, stderr } = await cli([
      'jobs',
      'download',
      jobId,
      '-o',
      join(missing, 'out.jpg'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain(missing);
  });
});
