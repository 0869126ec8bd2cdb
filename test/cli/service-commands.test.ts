import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.ts';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-cli-replay-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function replay(dataDir: string, ...args: string[]) {
  return runCli(['replay', ...args], {
    cwd: workDir,
    env: { BORINGKIT_DATA_DIR: dataDir },
  });
}

describe('replay', () => {
  it('rejects a missing data dir for --verify', async () => {
    const dataDir = join(workDir, 'missing');
    const { code, stderr } = await replay(dataDir, '--verify');
    expect(code).toBe(2);
    expect(stderr).toContain(dataDir);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('rejects a missing data dir for a rebuild', async () => {
    const dataDir = join(workDir, 'missing-rebuild');
    const { code } = await replay(dataDir);
    expect(code).toBe(2);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('leaves an empty data dir empty', async () => {
    const dataDir = join(workDir, 'empty');
    await mkdir(dataDir);
    const { code, stderr } = await replay(dataDir, '--verify');
    expect(code).toBe(2);
    expect(stderr).toContain(join(dataDir, 'events.sqlite'));
    expect(await readdir(dataDir)).toEqual([]);
  });
});

describe('start', () => {
  it('refuses a role it does not know', async () => {
    const dataDir = join(workDir, 'start');
    const { code, stderr } = await runCli(['start'], {
      cwd: workDir,
      env: { BORINGKIT_DATA_DIR: dataDir, BORINGKIT_ROLE: 'api' },
    });
    expect(code).toBe(1);
    expect(stderr).toContain(
      'BORINGKIT_ROLE=api is invalid: expected all, serve or work.',
    );
  });
});
