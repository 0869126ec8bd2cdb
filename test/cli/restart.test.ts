import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestartableService } from '../client/restartable-service.ts';
import { Client, type Json } from '../support/client.ts';
import { makePng } from '../support/fixtures.ts';
import { KEY_A, waitFor } from '../support/service.ts';
import { startCli } from './cli-process.ts';

/** Longer than the client's GET retries take, at most about 1.75 s. */
const DOWNTIME_MS = 4_000;

let service: RestartableService;
let workDir: string;

beforeAll(async () => {
  service = await RestartableService.create();
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-cli-restart-'));
  await writeFile(join(workDir, 'restart.png'), await makePng(160, 100));
});
afterAll(async () => {
  await service.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('convert through a restart', () => {
  it('finishes after the service returns', { timeout: 90_000 }, async () => {
    // The API alone leaves the job ready until a worker starts with `all`.
    await service.start('serve');
    const run = startCli(
      ['convert', 'image-compress-api', 'restart.png', '-o', 'restart.jpg'],
      {
        cwd: workDir,
        env: { BORINGKIT_API_URL: service.url, BORINGKIT_API_KEY: KEY_A },
      },
    );
    await waitFor(
      () => (run.stderr().includes('queued (ready)') ? true : undefined),
      { what: 'the uploaded job', timeoutMs: 20_000 },
    );

    await service.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
    await service.start('all');

    expect(await run.exited).toBe(0);
    const jpeg = await readFile(join(workDir, 'restart.jpg'));
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const { body } = await new Client(service.url).request('GET', '/v1/jobs');
    const named = body.data.filter(
      (job: Json) => job.input.name === 'restart.png',
    );
    expect(named).toHaveLength(1);
  });
});
