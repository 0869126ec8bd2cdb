import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocx } from '../fixtures/make-office.ts';
import { Client } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import {
  baseEnv,
  spawnService,
  waitFor,
  type ServiceProcess,
} from '../support/service.ts';
import {
  bridgeOf,
  groupMembers,
  oslPipesOf,
  profileOf,
  sofficeTempEntries,
  waitForEmptyGroup,
  waitForSoffice,
} from '../tools/soffice-processes.ts';

const DOCX =
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

let dataDir: string;
const services: ServiceProcess[] = [];
/** Process group of the killed worker's bridge, for afterAll. */
let bridgeGroup: number | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'worker-kill-'));
});

afterAll(async () => {
  for (const service of services) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
  // Only a failed test leaves processes behind.
  if (bridgeGroup && (await groupMembers(bridgeGroup)).length > 0) {
    process.kill(-bridgeGroup, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

function start(command: 'serve' | 'work'): ServiceProcess {
  const env = { ...baseEnv(dataDir), BORINGKIT_WORKER_CONCURRENCY: '1' };
  const service = spawnService(command, env);
  services.push(service);
  return service;
}

/** Returns the work directory that a worker process logged on start. */
function workDirectoryOf(worker: ServiceProcess): Promise<string> {
  return waitFor(
    () => {
      for (const line of worker.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg: string; workDir?: string };
        if (entry.msg === 'work directory created') return entry.workDir;
      }
      return undefined;
    },
    { timeoutMs: 90_000, what: 'the worker to create its directory' },
  );
}

describe('worker killed during word-to-pdf', () => {
  it('leaves no LibreOffice and no work directory', async () => {
    const docxPath = join(dataDir, 'long.docx');
    const paragraphs = Array.from(
      { length: 20_000 },
      (_, i) => `Paragraph ${i} of a long document that fills many pages.`,
    );
    await makeDocx(docxPath, paragraphs);
    const docx = await readFile(docxPath);
    const api = start('serve');
    const client = new Client(await api.url);
    const first = start('work');
    const firstDir = await workDirectoryOf(first);

    const { body: job } = await client.createJob({
      toolSlug: 'word-to-pdf',
      input: fileInput('long.docx', DOCX, docx),
    });
    await client.upload(job, docx);
    await client.waitForStatus(job.id, ['running'], 90_000);
    const group = await waitFor(() => bridgeOf(first.child.pid!), {
      what: 'the worker to start a LibreOffice bridge',
    });
    bridgeGroup = group;
    await waitForSoffice(group);
    // oosplash restarts soffice.bin once on a new profile, and soffice
    // opens its listener and its single-instance socket before converting.
    const { members, sockets } = await waitFor(
      async () => {
        const found = await groupMembers(group);
        const pipes = await oslPipesOf(found.map((entry) => entry.pid));
        return pipes.length >= 2
          ? { members: found, sockets: pipes }
          : undefined;
      },
      { timeoutMs: 30_000, what: "soffice's sockets" },
    );
    const soffice = members.find((entry) => entry.name === 'soffice.bin')!;
    const profile = await profileOf(soffice.pid);
    const { body: beforeKill } = await client.getJob(job.id);

    first.child.kill('SIGKILL');
    await first.exited;
    const left = await waitForEmptyGroup(bridgeGroup);
    const dirAfterKill = existsSync(firstDir);
    const second = start('work');
    const secondDir = await workDirectoryOf(second);
    const done = await client.waitForStatus(
      job.id,
      ['succeeded', 'failed'],
      90_000,
    );

    expect(beforeKill.status).toBe('running');
    expect(left).toEqual([]);
    expect(profile).toMatch(/\/boringkit-soffice-/);
    expect(existsSync(profile!)).toBe(false);
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(sockets.filter((path) => existsSync(path))).toEqual([]);
    expect(await sofficeTempEntries(soffice.pid)).toEqual([]);
    expect(dirAfterKill).toBe(true);
    expect(existsSync(firstDir)).toBe(false);
    expect(existsSync(secondDir)).toBe(true);
    expect(done.status).toBe('succeeded');
    expect(done.attempt).toBe(2);
  }, 180_000);
});
