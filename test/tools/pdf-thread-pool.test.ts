import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PdfThreadPool } from '../../workers/engines/pdf-thread.ts';
import { makePdfRun } from '../support/pdf-fixtures.ts';

const threadUrl = new URL('../support/pool-thread.ts', import.meta.url);

let root: string;
let pool: PdfThreadPool | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pdf-pool-'));
});

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

afterAll(() => rm(root, { recursive: true, force: true }));

function openPool(options: { size?: number; maxTasksPerThread?: number }) {
  pool = new PdfThreadPool({ threadUrl, ...options });
  return pool;
}

/** Runs `task` on `pool` and resolves with the id of the thread that ran it. */
async function runTask(
  target: PdfThreadPool,
  task: string,
  job: object = {},
): Promise<number> {
  const { context } = await makePdfRun('unused.pdf', root);
  const result = await target.run<object, { threadId: number }>({
    task,
    job,
    context,
    label: 'The test task',
  });
  return result.threadId;
}

describe('PdfThreadPool', () => {
  it('reuses one warm thread', async () => {
    const target = openPool({ size: 1 });

    const first = await runTask(target, 'whoAmI');
    const second = await runTask(target, 'whoAmI');

    expect(second).toBe(first);
  });

  it('queues a task while every thread is busy', async () => {
    const target = openPool({ size: 1 });

    const [slow, queued] = await Promise.all([
      runTask(target, 'wait', { ms: 200 }),
      runTask(target, 'whoAmI'),
    ]);

    expect(queued).toBe(slow);
  });

  it('replaces a thread after its number of tasks', async () => {
    const target = openPool({ size: 1, maxTasksPerThread: 2 });

    const first = await runTask(target, 'whoAmI');
    const second = await runTask(target, 'whoAmI');
    const third = await runTask(target, 'whoAmI');

    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });

  it('keeps the thread after an input error', async () => {
    const target = openPool({ size: 1 });
    const before = await runTask(target, 'whoAmI');

    const error = await runTask(target, 'reject').catch((caught) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect(await runTask(target, 'whoAmI')).toBe(before);
  });

  it('replaces a thread whose task failed unexpectedly', async () => {
    const target = openPool({ size: 1 });
    const before = await runTask(target, 'whoAmI');

    const error = await runTask(target, 'crash').catch((caught) => caught);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('An unexpected failure.');
    expect(error).not.toHaveProperty('code');
    expect(await runTask(target, 'whoAmI')).not.toBe(before);
  });

  it('rejects a task aborted while its thread starts', async () => {
    const target = openPool({ size: 1 });
    const { context, controller } = await makePdfRun('unused.pdf', root);

    const starting = target
      .run({ task: 'whoAmI', job: {}, context, label: 'Starting' })
      .catch((caught: unknown) => caught);
    controller.abort(new Error('gave up early'));

    expect(await starting).toMatchObject({ message: 'gave up early' });
    await expect(runTask(target, 'whoAmI')).resolves.toBeTypeOf('number');
  });

  it('terminates the thread on abort and serves the next task', async () => {
    const target = openPool({ size: 1 });
    const before = await runTask(target, 'whoAmI');
    const { context, controller, progress } = await makePdfRun(
      'unused.pdf',
      root,
    );

    const running = target
      .run({ task: 'wait', job: { ms: 30_000 }, context, label: 'Waiting' })
      .catch((caught: unknown) => caught);
    const queued = runTask(target, 'whoAmI');
    await expect.poll(() => progress.length).toBe(1);
    controller.abort(new Error('canceled by the test'));

    expect(await running).toMatchObject({ message: 'canceled by the test' });
    const after = await queued;
    expect(after).not.toBe(before);
  });

  it('rejects a waiting task on abort without running it', async () => {
    const target = openPool({ size: 1 });
    const { context, controller } = await makePdfRun('unused.pdf', root);
    const busy = runTask(target, 'wait', { ms: 300 });
    // Lets the busy task take the only thread first.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const waiting = target
      .run({ task: 'whoAmI', job: {}, context, label: 'Waiting' })
      .catch((caught: unknown) => caught);
    controller.abort(new Error('gave up'));

    expect(await waiting).toMatchObject({ message: 'gave up' });
    await busy;
  });

  it('stops a task over the memory limit', async () => {
    const target = openPool({ size: 1 });
    const before = await runTask(target, 'whoAmI');
    const { context } = await makePdfRun('unused.pdf', root);

    const error = await target
      .run({
        task: 'hold',
        job: { megabytes: 256, ms: 5_000 },
        context,
        label: 'Holding memory',
        memoryLimitBytes: 64 * 2 ** 20,
      })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'resource_limit_exceeded' });
    expect(await runTask(target, 'whoAmI')).not.toBe(before);
  });

  it('fails an unknown task name', async () => {
    const target = openPool({ size: 1 });

    const error = await runTask(target, 'missing').catch((caught) => caught);

    expect((error as Error).message).toContain('No task named "missing"');
    await expect(runTask(target, 'whoAmI')).resolves.toBeTypeOf('number');
  });
});
