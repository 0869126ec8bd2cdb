import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Json } from '../support/client.ts';
import { makePng } from '../support/fixtures.ts';
import {
  KEY_A,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';
import { runCli, startCli as startCliProcess } from './cli-process.ts';

let service: TestService;
/** API only: its jobs stay queued, so a convert waits until interrupted. */
let apiOnly: TestService;
let workDir: string;
let pngPath: string;

beforeAll(async () => {
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '1000' });
  apiOnly = await startTestService({}, ['api']);
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-cli-'));
  pngPath = join(workDir, 'photo.png');
  await writeFile(pngPath, await makePng(320, 200));
});
afterAll(async () => {
  await service.stop();
  await apiOnly.stop();
  await rm(workDir, { recursive: true, force: true });
});

const cliEnv = () => ({
  BORINGKIT_API_URL: service.url,
  BORINGKIT_API_KEY: KEY_A,
});

function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return startCliProcess(args, { cwd: workDir, env: { ...cliEnv(), ...env } });
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { cwd: workDir, env: { ...cliEnv(), ...env } });
}

describe('boringkit command', () => {
  it('prints help', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('convert <tool> <file>');
    expect(stdout).toContain('replay --verify');
  });

  it('lists tools as JSON', async () => {
    const { code, stdout } = await cli(['tools', '--json']);
    expect(code).toBe(0);
    const slugs = (JSON.parse(stdout) as Json[]).map((tool) => tool.slug);
    expect(slugs).toContain('image-compress-api');
  });

  it('converts a PNG to a JPEG', async () => {
    const { code, stdout, stderr } = await cli([
      'convert',
      'image-compress-api',
      pngPath,
      '-o',
      'small.jpg',
      '--option',
      'quality=60',
    ]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('small.jpg');
    const jpeg = await readFile(join(workDir, 'small.jpg'));
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    // Without a terminal, progress is plain lines.
    expect(stderr).toContain('upload 100%');
    expect(stderr).toContain('processing 100% succeeded (done)');
    expect(stderr).not.toContain('\r');
  });

  it('prints a convert as JSON', async () => {
    const { code, stdout } = await cli([
      'convert',
      'image-compress-api',
      pngPath,
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.job.status).toBe('succeeded');
    expect(result.job.input.options.quality).toBe(82);
    expect(result.output).toBe('photo.jpg');
  });

  it('rejects a bad tool option', async () => {
    const { code, stderr } = await cli([
      'convert',
      'image-compress-api',
      pngPath,
      '--option',
      'quality=500',
      '--json',
    ]);
    expect(code).toBe(3);
    const { error } = JSON.parse(stderr);
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.detail).toContain('input.options.quality');
  });

  it('rejects an unknown flag', async () => {
    const { code, stderr } = await cli(['tools', '--frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('--frobnicate');
  });

  it('rejects a missing file', async () => {
    const { code } = await cli(['convert', 'image-compress-api', 'nope.png']);
    expect(code).toBe(2);
  });

  it('rejects a wrong key', async () => {
    const { code, stderr } = await cli(['credits'], {
      BORINGKIT_API_KEY: 'wrong-key-0123456789',
    });
    expect(code).toBe(4);
    expect(stderr).toContain('UNAUTHORIZED');
  });

  it('reports an unreachable service', async () => {
    const server = createServer();
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const { port } = server.address() as { port: number };
    await new Promise((closed) => server.close(closed));

    const { code } = await cli(['tools', '--url', `http://127.0.0.1:${port}`]);
    expect(code).toBe(5);
  });

  it('lists, shows and closes jobs', async () => {
    const list = await cli(['jobs', 'list', '--status', 'succeeded', '--json']);
    expect(list.code).toBe(0);
    const jobs = JSON.parse(list.stdout) as Json[];
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((job) => job.status === 'succeeded')).toBe(true);

    const id = jobs[0].id;
    const show = await cli(['jobs', 'show', id]);
    expect(show.stdout).toContain(id);
    const events = await cli(['jobs', 'events', id]);
    expect(events.stdout).toContain('JobSucceeded');
    const close = await cli(['jobs', 'close', id, '--json']);
    expect(JSON.parse(close.stdout).closedAt).not.toBeNull();
  });

  it('reports a failed cancel with the API code', async () => {
    const list = await cli(['jobs', 'list', '--status', 'succeeded', '--json']);
    const id = (JSON.parse(list.stdout) as Json[])[0].id;
    const { code, stderr } = await cli(['jobs', 'cancel', id]);
    expect(code).toBe(3);
    expect(stderr).toContain('JOB_NOT_CANCELABLE');
  });

  it('shows credits', async () => {
    const { code, stdout } = await cli(['credits', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).balance).toBeLessThan(1000);
  });

  it('cancels the job on Ctrl-C', async () => {
    const run = startCli(['convert', 'image-compress-api', pngPath], {
      BORINGKIT_API_URL: apiOnly.url,
    });
    const jobId = await waitFor(
      () => /job (job_\w+) created/.exec(run.stderr())?.[1],
      { what: 'the created job', timeoutMs: 20_000 },
    );
    // Interrupt while the job waits for a worker that never comes.
    const api = new Client(apiOnly.url);
    await waitFor(
      async () => {
        const { body } = await api.getJob(jobId);
        return body.stage === 'ready' ? true : undefined;
      },
      { what: 'the upload' },
    );
    run.child.kill('SIGINT');

    expect(await run.exited).toBe(130);
    const { body: job } = await api.getJob(jobId);
    expect(job.status).toBe('canceled');
    expect(run.stderr()).toContain(`job ${jobId} canceled`);
  });
});
