import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibreOfficePool } from '../../workers/engines/libreoffice.ts';
import { makeDocx } from '../fixtures/make-office.ts';
import { waitFor } from '../support/service.ts';
import {
  BRIDGE_SCRIPT,
  bridgeOf,
  groupMembers,
  oslPipe,
  oslPipesOf,
  sofficeTempEntries,
  waitForEmptyGroup,
  waitForSoffice,
} from './soffice-processes.ts';

const POOL_MODULE = new URL(
  '../../workers/engines/libreoffice.ts',
  import.meta.url,
).href;
const PINO_MODULE = pathToFileURL(
  createRequire(import.meta.url).resolve('pino'),
).href;
const WORD_REQUEST = {
  filter: 'writer_pdf_Export',
  importFilter: 'MS Word 2007 XML',
  kind: 'word',
};

let root: string;
/** 20 000 paragraphs, about 400 pages: several seconds to convert. */
let longDocx: string;
let shortDocx: string;
/** Process groups of bridges that the tests started, for afterAll. */
const groups = new Set<number>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'office-bridge-exit-'));
  longDocx = join(root, 'long.docx');
  shortDocx = join(root, 'short.docx');
  const paragraphs = Array.from(
    { length: 20_000 },
    (_, i) => `Paragraph ${i} of a long document that fills many pages.`,
  );
  await makeDocx(longDocx, paragraphs);
  await makeDocx(shortDocx, ['Alpha paragraph']);
});

afterAll(async () => {
  // Only a failed test leaves processes behind.
  for (const group of groups) {
    if ((await groupMembers(group)).length > 0) {
      process.kill(-group, 'SIGKILL');
    }
  }
  await rm(root, { recursive: true, force: true });
});

/** Waits until `directory` is empty and returns its entries at the end. */
async function waitForEmptyDirectory(directory: string): Promise<string[]> {
  return waitFor(
    async () => {
      const entries = await readdir(directory);
      return entries.length === 0 ? entries : undefined;
    },
    { timeoutMs: 15_000, what: `${directory} to be empty` },
  ).catch(() => readdir(directory));
}

/** A child process with its output lines collected. */
interface Spawned {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function collect(child: ChildProcess): Spawned {
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? (signal === null ? null : -1));
    });
  });
  return { child, lines, exited };
}

function waitForLine(spawned: Spawned, text: string): Promise<string> {
  return waitFor(() => spawned.lines.find((line) => line.includes(text)), {
    timeoutMs: 60_000,
    what: `a line with "${text}"`,
  });
}

/**
 * Starts a Node process that opens a one-member LibreOfficePool and
 * converts `input`, as a worker does. It logs the pool's JSON lines and
 * prints `converted` when the conversion ends, then idles.
 */
function spawnWorker(input: string, profileParent: string): Spawned {
  const script =
    `import { LibreOfficePool } from ${JSON.stringify(POOL_MODULE)};\n` +
    `import { pino } from ${JSON.stringify(PINO_MODULE)};\n` +
    'const [input, output, profileParent] = process.argv.slice(1);\n' +
    'const pool = new LibreOfficePool({ size: 1, profileParent, logger: pino() });\n' +
    `pool.convert(input, output, ${JSON.stringify(WORD_REQUEST)},\n` +
    '  new AbortController().signal,\n' +
    ').then(() => console.log("converted"), (error) => console.log(error));\n';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
      input,
      join(root, `${process.hrtime.bigint()}.pdf`),
      profileParent,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return collect(child);
}

/** Starts the bridge as the pool does, with this process as its worker. */
async function spawnBridge(
  profileDir: string,
  pipeName: string,
): Promise<Spawned> {
  const child = spawn(
    '/usr/bin/python3',
    [
      BRIDGE_SCRIPT,
      '/usr/bin/soffice',
      profileDir,
      pipeName,
      String(process.pid),
    ],
    { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
  );
  groups.add(child.pid!);
  const spawned = collect(child);
  await waitForLine(spawned, '"ready": true');
  return spawned;
}

function sendConversion(bridge: Spawned, input: string): void {
  const output = join(root, `${process.hrtime.bigint()}.pdf`);
  const request = { id: 1, input, output, ...WORD_REQUEST };
  bridge.child.stdin!.write(`${JSON.stringify(request)}\n`);
}

describe('LibreOffice bridge exit', () => {
  it('SIGKILL of a converting worker stops soffice', async () => {
    const profileParent = await mkdtemp(join(root, 'converting-'));
    const worker = spawnWorker(longDocx, profileParent);
    const started = await waitForLine(worker, 'LibreOffice listener started');
    const bridgePid = (JSON.parse(started) as { pid: number }).pid;
    groups.add(bridgePid);
    // The listener starts only for the conversion, which follows at once.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = await groupMembers(bridgePid);
    const sockets = await oslPipesOf(before.map((entry) => entry.pid));

    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const left = await waitForEmptyGroup(bridgePid);
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(`soffice gone ${seconds} s after the worker's SIGKILL`);

    const soffice = before.find((entry) => entry.name === 'soffice.bin');
    expect(worker.lines).not.toContain('converted');
    expect(soffice).toBeDefined();
    expect(sockets).toContain(oslPipe(`boringkit-${worker.child.pid}-1`));
    expect(left).toEqual([]);
    expect(await readdir(profileParent)).toEqual([]);
    expect(sockets.filter((path) => existsSync(path))).toEqual([]);
    expect(await sofficeTempEntries(soffice!.pid)).toEqual([]);
  }, 90_000);

  it('SIGKILL of an idle worker stops soffice', async () => {
    const profileParent = await mkdtemp(join(root, 'idle-'));
    const worker = spawnWorker(shortDocx, profileParent);
    const started = await waitForLine(worker, 'LibreOffice listener started');
    const bridgePid = (JSON.parse(started) as { pid: number }).pid;
    groups.add(bridgePid);
    await waitForLine(worker, 'converted');
    const before = await groupMembers(bridgePid);
    const sockets = await oslPipesOf(before.map((entry) => entry.pid));

    worker.child.kill('SIGKILL');
    await worker.exited;
    const left = await waitForEmptyGroup(bridgePid);

    expect(before.map((entry) => entry.name)).toContain('soffice.bin');
    expect(sockets).toContain(oslPipe(`boringkit-${worker.child.pid}-1`));
    expect(left).toEqual([]);
    expect(await readdir(profileParent)).toEqual([]);
    expect(sockets.filter((path) => existsSync(path))).toEqual([]);
  }, 90_000);

  it('SIGTERM during a conversion stops soffice', async () => {
    const profileDir = await mkdtemp(join(root, 'sigterm-'));
    const pipeName = `boringkit-test-${process.pid}-sigterm`;
    const bridge = await spawnBridge(profileDir, pipeName);
    sendConversion(bridge, longDocx);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = await groupMembers(bridge.child.pid!);
    const sockets = await oslPipesOf(before.map((entry) => entry.pid));
    const results = bridge.lines.filter((line) => line.includes('"id"'));

    bridge.child.kill('SIGTERM');
    const code = await bridge.exited;
    const left = await waitForEmptyGroup(bridge.child.pid!);

    expect(results).toEqual([]);
    expect(before.map((entry) => entry.name)).toContain('soffice.bin');
    expect(sockets).toContain(oslPipe(pipeName));
    expect(code).toBe(128 + 15);
    expect(left).toEqual([]);
    expect(existsSync(profileDir)).toBe(false);
    expect(sockets.filter((path) => existsSync(path))).toEqual([]);
  }, 90_000);

  it('pool abort removes profile and sockets', async () => {
    const profileParent = await mkdtemp(join(root, 'abort-'));
    const pool = new LibreOfficePool({ size: 1, profileParent });
    const controller = new AbortController();
    try {
      const output = join(root, 'aborted.pdf');
      const converting = pool.convert(
        longDocx,
        output,
        { filter: 'writer_pdf_Export', kind: 'word' },
        controller.signal,
      );
      const bridgePid = await waitFor(() => bridgeOf(process.pid), {
        what: 'the bridge to start',
      });
      groups.add(bridgePid);
      await waitForSoffice(bridgePid);
      // About 1 s for soffice to accept connections, then the conversion.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const before = await groupMembers(bridgePid);
      const sockets = await oslPipesOf(before.map((entry) => entry.pid));

      controller.abort(new Error('canceled'));

      await expect(converting).rejects.toThrow('canceled');
      expect(await waitForEmptyGroup(bridgePid)).toEqual([]);
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      expect(await waitForEmptyDirectory(profileParent)).toEqual([]);
      expect(sockets.filter((path) => existsSync(path))).toEqual([]);
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('pool close removes profile and sockets', async () => {
    const profileParent = await mkdtemp(join(root, 'close-'));
    const pool = new LibreOfficePool({ size: 1, profileParent });
    let closed = false;
    try {
      await pool.convert(
        shortDocx,
        join(root, 'closed.pdf'),
        { filter: 'writer_pdf_Export', kind: 'word' },
        new AbortController().signal,
      );
      const bridgePid = (await bridgeOf(process.pid))!;
      groups.add(bridgePid);
      const before = await groupMembers(bridgePid);
      const sockets = await oslPipesOf(before.map((entry) => entry.pid));

      await pool.close();
      closed = true;

      expect(sockets.length).toBeGreaterThanOrEqual(2);
      expect(await groupMembers(bridgePid)).toEqual([]);
      expect(await readdir(profileParent)).toEqual([]);
      expect(sockets.filter((path) => existsSync(path))).toEqual([]);
    } finally {
      if (!closed) await pool.close();
    }
  }, 90_000);

  it('closed stdout stops soffice after the conversion', async () => {
    const profileDir = await mkdtemp(join(root, 'closed-stdout-'));
    const pipeName = `boringkit-test-${process.pid}-stdout`;
    const bridge = await spawnBridge(profileDir, pipeName);
    sendConversion(bridge, longDocx);
    // The result then meets a broken pipe, as after a worker's death.
    bridge.child.stdout!.destroy();

    const code = await bridge.exited;
    const left = await waitForEmptyGroup(bridge.child.pid!);

    expect(code).toBe(3);
    expect(left).toEqual([]);
    expect(existsSync(profileDir)).toBe(false);
    expect(existsSync(oslPipe(pipeName))).toBe(false);
  }, 90_000);
});
