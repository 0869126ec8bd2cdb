import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  removeStaleUploads,
  STALE_UPLOAD_MS,
} from '../../bin/stale-uploads.ts';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'boringkit-stale-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('removeStaleUploads', () => {
  it('removes only files unchanged for a day', async () => {
    const stale = join(directory, 'job_1-a');
    const fresh = join(directory, 'job_2-b');
    const folder = join(directory, 'nested');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'partial');
    await mkdir(folder);
    const old = new Date(Date.now() - STALE_UPLOAD_MS - 60_000);
    await utimes(stale, old, old);
    await utimes(folder, old, old);

    await removeStaleUploads(directory, pino({ level: 'silent' }));

    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(folder)).toBe(true);
  });

  it('accepts a missing directory', async () => {
    await expect(
      removeStaleUploads(join(directory, 'none'), pino({ level: 'silent' })),
    ).resolves.toBeUndefined();
  });
});
