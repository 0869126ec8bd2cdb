import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkerDirectory,
  identifyProcess,
  workDirectoryName,
  type WorkDirectoryOwner,
} from '../../workers/work-directories.ts';
import {
  baseEnv,
  spawnService,
  waitFor,
  type ServiceProcess,
} from '../support/service.ts';

let root: string;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'work-directories-'));
});

afterAll(async () => {
  for (const service of services) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
  await rm(root, { recursive: true, force: true });
});

interface LogLine {
  msg: string;
  dir?: string;
}

function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    {},
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

/** Starts `sleep`, a live process that the test stops itself. */
async function startProcess(): Promise<{
  owner: WorkDirectoryOwner;
  stop: () => Promise<void>;
}> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const owner = await identifyProcess(child.pid!);
  return {
    owner,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Creates a work directory of `owner` under `workRoot`, with a file in it. */
async function makeOwnedDirectory(
  workRoot: string,
  owner: WorkDirectoryOwner,
): Promise<string> {
  const dir = join(workRoot, workDirectoryName(owner));
  await mkdir(join(dir, 'job_1-1-abcdef'), { recursive: true });
  await writeFile(join(dir, 'job_1-1-abcdef', 'input'), 'user data');
  return dir;
}

describe('createWorkerDirectory', () => {
  it('removes the directory of a dead owner', async () => {
    const workRoot = await mkdtemp(join(root, 'dead-'));
    const dead = await startProcess();
    const dir = await makeOwnedDirectory(workRoot, dead.owner);
    await dead.stop();
    const { logger, lines } = capturingLogger();

    const own = await createWorkerDirectory(workRoot, logger);

    expect(existsSync(dir)).toBe(false);
    expect(existsSync(own)).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        dir,
        msg: 'removed the work directory of a worker that is no longer running',
      }),
    );
  });

  it('keeps the directory of a live owner until it stops', async () => {
    const workRoot = await mkdtemp(join(root, 'live-'));
    const live = await startProcess();
    const dir = await makeOwnedDirectory(workRoot, live.owner);

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));
    const keptWhileAlive = existsSync(dir);
    await live.stop();
    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(keptWhileAlive).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps the directory of this process', async () => {
    const workRoot = await mkdtemp(join(root, 'own-'));

    const first = await createWorkerDirectory(
      workRoot,
      pino({ level: 'silent' }),
    );
    const second = await createWorkerDirectory(
      workRoot,
      pino({ level: 'silent' }),
    );

    expect(existsSync(first)).toBe(true);
    expect(existsSync(second)).toBe(true);
    expect(second).not.toBe(first);
  });

  it('removes a directory whose pid was reused', async () => {
    const workRoot = await mkdtemp(join(root, 'reused-'));
    const self = await identifyProcess(process.pid);
    // This pid, but a start time of an earlier process.
    const earlier = { ...self, startTime: String(Number(self.startTime) - 1) };
    const dir = await makeOwnedDirectory(workRoot, earlier);

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(self.startTime).toMatch(/^\d+$/);
    expect(existsSync(dir)).toBe(false);
  });

  it('removes a directory of an earlier boot', async () => {
    const workRoot = await mkdtemp(join(root, 'boot-'));
    const self = await identifyProcess(process.pid);
    const dir = await makeOwnedDirectory(workRoot, {
      ...self,
      bootId: '0'.repeat(32),
    });

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(self.bootId).toMatch(/^[0-9a-f]{32}$/);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps directories of other hosts', async () => {
    const workRoot = await mkdtemp(join(root, 'host-'));
    const dead = await startProcess();
    await dead.stop();
    const dir = await makeOwnedDirectory(workRoot, {
      ...dead.owner,
      hostname: `other-${dead.owner.hostname}`,
    });

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(existsSync(dir)).toBe(true);
  });

  it('keeps directories of another PID namespace', async () => {
    const workRoot = await mkdtemp(join(root, 'namespace-'));
    const dead = await startProcess();
    await dead.stop();
    // A worker in another container with this host name: its pid means
    // another process here, so it cannot be checked.
    const dir = await makeOwnedDirectory(workRoot, {
      ...dead.owner,
      pidNamespace: '1',
    });

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(dead.owner.pidNamespace).toMatch(/^\d+$/);
    expect(existsSync(dir)).toBe(true);
  });

  it('keeps entries that no worker created', async () => {
    const workRoot = await mkdtemp(join(root, 'foreign-'));
    const dead = await startProcess();
    await dead.stop();
    // An attempt directory of a version before per-worker directories.
    const legacy = join(workRoot, 'job_01ABC-1-x7Yz9Q');
    await mkdir(legacy);
    // A file named like a dead worker's directory.
    const file = join(workRoot, workDirectoryName(dead.owner));
    await writeFile(file, '');

    await createWorkerDirectory(workRoot, pino({ level: 'silent' }));

    expect(existsSync(legacy)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });
});

/** Returns the value of `field` in the first JSON log line with `msg`. */
function logField(
  service: ServiceProcess,
  msg: string,
  field: string,
): string | undefined {
  for (const line of service.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, string>;
    if (entry.msg === msg) return entry[field];
  }
  return undefined;
}

function startWorker(dataDir: string): ServiceProcess {
  const service = spawnService('work', baseEnv(dataDir));
  services.push(service);
  return service;
}

describe('worker process', () => {
  it('start removes a killed worker directory', async () => {
    const dataDir = await mkdtemp(join(root, 'data-'));
    const first = startWorker(dataDir);
    const firstDir = await waitFor(
      () => logField(first, 'work directory created', 'workDir'),
      { timeoutMs: 30_000, what: 'the first worker directory' },
    );
    await writeFile(join(firstDir, 'input'), 'user data');
    first.child.kill('SIGKILL');
    await first.exited;
    const leftByKill = existsSync(firstDir);

    const second = startWorker(dataDir);
    const secondDir = await waitFor(
      () => logField(second, 'work directory created', 'workDir'),
      { timeoutMs: 30_000, what: 'the second worker directory' },
    );
    const removed = logField(
      second,
      'removed the work directory of a worker that is no longer running',
      'dir',
    );
    const entries = await readdir(join(dataDir, 'work'));
    second.child.kill('SIGTERM');
    const exitCode = await second.exited;

    expect(leftByKill).toBe(true);
    expect(existsSync(firstDir)).toBe(false);
    expect(removed).toBe(firstDir);
    expect(entries).toEqual([secondDir.split('/').at(-1)]);
    expect(exitCode).toBe(0);
    expect(existsSync(secondDir)).toBe(false);
  }, 90_000);
});
