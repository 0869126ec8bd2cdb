import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { makeVideo } from '../fixtures/make-video.ts';
import { Client } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import {
  baseEnv,
  spawnService,
  waitFor,
  type ServiceProcess,
} from '../support/service.ts';

const run = promisify(execFile);

let dataDir: string;
let env: NodeJS.ProcessEnv;
const processes: ServiceProcess[] = [];

function start(command: 'serve' | 'work'): ServiceProcess {
  const started = spawnService(command, env);
  processes.push(started);
  return started;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'boringkit-processes-'));
  env = { ...baseEnv(dataDir), BORINGKIT_WORKER_CONCURRENCY: '1' };
});

afterAll(async () => {
  for (const started of processes) {
    if (started.child.exitCode === null) started.child.kill('SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('separate API and worker processes', () => {
  it('retries a job whose worker was killed, charging once', async () => {
    const api = start('serve');
    const client = new Client(await api.url);
    const first = start('work');
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const html =
      '<p>survivor</p><script>const end = Date.now() + 4000; while (Date.now() < end) {}</script>';
    const { body: job } = await client.createJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: html,
        options: {},
      },
    });
    const running = await client.waitForStatus(job.id, ['running'], 30_000);
    expect(running.attempt).toBe(1);

    first.child.kill('SIGKILL');
    await first.exited;
    start('work');

    const done = await client.waitForStatus(
      job.id,
      ['succeeded', 'failed'],
      60_000,
    );
    expect(done.status).toBe('succeeded');
    expect(done.attempt).toBe(2);
    expect(done.retryCount).toBe(1);
    expect(done.credits).toEqual({ charged: 2, refunded: 0 });

    const { body: events } = await client.request(
      'GET',
      `/v1/jobs/${job.id}/events`,
    );
    const types = events.data.map((event: { type: string }) => event.type);
    expect(
      types.filter((type: string) => type === 'CreditsCharged'),
    ).toHaveLength(1);
    expect(types).toContain('AttemptFailed');
    const { body: credits } = await client.request('GET', '/v1/credits');
    expect(
      credits.entries.filter(
        (entry: { jobId: string }) => entry.jobId === job.id,
      ),
    ).toHaveLength(1);
  }, 120_000);

  it('replay --verify matches, then reports a tampered row', async () => {
    const replay = (...flags: string[]) =>
      run(
        process.execPath,
        ['--import', 'tsx', 'bin/boringkit.ts', 'replay', ...flags],
        {
          env: { ...process.env, ...env },
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stdout,
          stderr: error.stderr,
        }),
      );

    const clean = await replay('--verify');
    expect(clean.stdout).toContain('matches the log');
    expect(clean.code).toBe(0);

    const db = new Database(join(dataDir, 'readmodel.sqlite'));
    db.prepare(
      "UPDATE balances SET balance = balance + 5 WHERE workspace_id = 'ws_a'",
    ).run();
    db.close();

    const tampered = await replay('--verify');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('difference in balances ws_a');

    // The API from the first test still owns the read model.
    const rebuild = await replay();
    expect(rebuild.code).toBe(1);
    expect(rebuild.stdout + rebuild.stderr).toContain('stop it first');
  }, 60_000);

  it('second API on one data dir refuses to start', async () => {
    const second = start('serve');
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain('The read model is in use by process');
  }, 30_000);

  it('SIGINT after a Chromium job shuts down cleanly', async () => {
    for (const started of processes) started.child.kill('SIGKILL');
    await Promise.all(processes.map((started) => started.exited));

    const all = spawnService('all', env);
    processes.push(all);
    const client = new Client(await all.url);
    const { body: job } = await client.createJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: '<p>bye</p>',
        options: {},
      },
    });
    await client.waitForStatus(job.id, ['succeeded']);

    all.child.kill('SIGINT');
    expect(await all.exited).toBe(0);
    expect(all.output()).toContain('worker stopped');
    expect(existsSync(join(dataDir, 'readmodel.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'readmodel.sqlite-wal'))).toBe(false);
  }, 60_000);

  it('Ctrl-C during a video job drains it', async () => {
    const clipPath = join(dataDir, 'long.mp4');
    await makeVideo(clipPath, {
      container: 'mp4',
      seconds: 60,
      width: 640,
      height: 360,
    });
    const clip = await readFile(clipPath);
    const all = spawnService('all', env, { processGroup: true });
    processes.push(all);
    const client = new Client(await all.url);
    const { body: job } = await client.createJob({
      toolSlug: 'compress-video',
      input: fileInput('long.mp4', 'video/mp4', clip),
    });
    await client.upload(job, clip);
    await waitFor(
      async () => {
        const { body } = await client.getJob(job.id);
        return body.status === 'running' && body.progress > 0
          ? body
          : undefined;
      },
      { timeoutMs: 60_000, what: 'the encode to report progress' },
    );

    // Ctrl-C: SIGINT to every process in the terminal's foreground group.
    process.kill(-all.child.pid!, 'SIGINT');
    const exitCode = await all.exited;
    const store = openSqliteEventStore({
      path: join(dataDir, 'events.sqlite'),
    });
    const events = await store.readStream(`job-${job.id}`);
    await store.close();
    const { stdout: leftover } = await run('pgrep', ['-f', dataDir]).catch(
      () => ({ stdout: '' }),
    );

    expect(exitCode).toBe(0);
    expect(all.output()).toContain('worker stopped');
    // ffmpeg that got the SIGINT too would fail the attempt. The worker
    // either finishes the encode or releases the attempt for a retry.
    const failures = events.filter(
      (event) =>
        event.type === 'JobFailed' ||
        (event.type === 'AttemptFailed' &&
          (event.data as { released?: boolean }).released !== true),
    );
    expect(failures).toEqual([]);
    expect(leftover.trim()).toBe('');
  }, 120_000);
});
