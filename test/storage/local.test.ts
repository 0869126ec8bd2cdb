import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  BlobNotFoundError,
  LocalBlobStorage,
  validateKey,
} from '../../storage/local.ts';
import { inputKey, outputKey } from '../../storage/port.ts';

let root: string;
let storage: LocalBlobStorage;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'boringkit-local-'));
  storage = new LocalBlobStorage(path.join(root, 'blobs'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Yields `chunks`, then fails the stream as a dropped upload would. */
function failingBody(chunks: string[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield Buffer.from(chunk);
      throw new Error('connection reset');
    })(),
  );
}

describe('LocalBlobStorage', () => {
  it('write then read round trip', async () => {
    const body = Buffer.from('hello, blob storage\n'.repeat(10_000));

    const stored = await storage.write(inputKey('job_1'), Readable.from(body));

    expect(stored.sizeBytes).toBe(body.byteLength);
    expect(stored.sha256).toBe(sha256(body));
    const read = await text(await storage.read(inputKey('job_1')));
    expect(read).toBe(body.toString());
  });

  it('write stores at the key path', async () => {
    await storage.write(outputKey('job_1'), Readable.from(['output']));

    const onDisk = await readFile(path.join(root, 'blobs/jobs/job_1/output'));
    expect(onDisk.toString()).toBe('output');
  });

  it('write accepts string chunks', async () => {
    const stored = await storage.write('a/b', Readable.from(['ab', 'cd']));

    expect(stored.sizeBytes).toBe(4);
    expect(stored.sha256).toBe(sha256('abcd'));
  });

  it('write measures an empty body', async () => {
    const stored = await storage.write('empty', Readable.from([]));

    expect(stored.sizeBytes).toBe(0);
    expect(stored.sha256).toBe(sha256(''));
  });

  it('write replaces an existing blob', async () => {
    await storage.write('k', Readable.from(['first version']));
    await storage.write('k', Readable.from(['second']));

    expect(await text(await storage.read('k'))).toBe('second');
  });

  it('failed write leaves no files', async () => {
    const write = storage.write(inputKey('job_2'), failingBody(['a', 'b']));

    await expect(write).rejects.toThrow('connection reset');
    const directory = path.join(root, 'blobs/jobs/job_2');
    expect(await readdir(directory)).toEqual([]);
    expect(await storage.exists(inputKey('job_2'))).toBe(false);
  });

  it('failed write keeps the old blob', async () => {
    await storage.write('k', Readable.from(['old']));

    await expect(storage.write('k', failingBody(['new']))).rejects.toThrow();

    expect(await text(await storage.read('k'))).toBe('old');
    expect(await readdir(path.join(root, 'blobs'))).toEqual(['k']);
  });

  it('destroyed body leaves no files', async () => {
    const body = new Readable({ read() {} });
    body.push('partial');
    setTimeout(() => body.destroy(), 10);

    await expect(storage.write('k', body)).rejects.toThrow();

    expect(await readdir(path.join(root, 'blobs'))).toEqual([]);
  });

  it('write rejects object chunks', async () => {
    const body = Readable.from([{ not: 'bytes' }]);

    await expect(storage.write('k', body)).rejects.toThrow(TypeError);
    expect(await readdir(path.join(root, 'blobs'))).toEqual([]);
  });

  it('read of missing key throws ENOENT', async () => {
    await expect(storage.read('jobs/none/input')).rejects.toThrow(
      BlobNotFoundError,
    );
    await expect(storage.read('jobs/none/input')).rejects.toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('read of a directory throws ENOENT', async () => {
    await storage.write(inputKey('job_3'), Readable.from(['x']));

    await expect(storage.read('jobs/job_3')).rejects.toThrow(BlobNotFoundError);
  });

  it('exists reports files only', async () => {
    await storage.write(inputKey('job_4'), Readable.from(['x']));

    expect(await storage.exists(inputKey('job_4'))).toBe(true);
    expect(await storage.exists(outputKey('job_4'))).toBe(false);
    expect(await storage.exists('jobs/job_4')).toBe(false);
    expect(await storage.exists('jobs/job_4/input/below')).toBe(false);
  });

  it('remove deletes the blob', async () => {
    await storage.write('k', Readable.from(['x']));

    await storage.remove('k');

    expect(await storage.exists('k')).toBe(false);
  });

  it('remove of missing key succeeds', async () => {
    await expect(storage.remove('jobs/none/input')).resolves.toBeUndefined();
  });

  it('download copies to a local path', async () => {
    const body = Buffer.from([0, 1, 2, 255, 254]);
    await storage.write('k', Readable.from([body]));
    const local = path.join(root, 'copy.bin');
    await writeFile(local, 'stale contents');

    await storage.download('k', local);

    expect(await readFile(local)).toEqual(body);
  });

  it('download of missing key throws ENOENT', async () => {
    const download = storage.download('none', path.join(root, 'copy.bin'));

    await expect(download).rejects.toThrow(BlobNotFoundError);
  });

  it('download into missing directory keeps errno', async () => {
    await storage.write('k', Readable.from(['x']));
    const local = path.join(root, 'no-such-dir/copy.bin');

    const download = storage.download('k', local);

    await expect(download).rejects.not.toThrow(BlobNotFoundError);
    await expect(download).rejects.toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});

describe('blob key validation', () => {
  const invalidKeys = [
    '../x',
    '/abs',
    'a/../../b',
    'a/..',
    '..',
    '.',
    './a',
    'a//b',
    'a/',
    '',
    'a\\b',
    'a b',
    'a\0b',
    'jobs/ü',
    '%2e%2e/x',
    'x'.repeat(1025),
  ];

  for (const key of invalidKeys) {
    it(`rejects ${JSON.stringify(key.slice(0, 20))}`, async () => {
      expect(() => validateKey(key)).toThrow('Invalid blob key');
      await expect(storage.read(key)).rejects.toThrow('Invalid blob key');
      await expect(storage.write(key, Readable.from(['x']))).rejects.toThrow(
        'Invalid blob key',
      );
      await expect(storage.exists(key)).rejects.toThrow('Invalid blob key');
      await expect(storage.remove(key)).rejects.toThrow('Invalid blob key');
    });
  }

  it('rejected write creates nothing', async () => {
    await expect(storage.write('../x', Readable.from(['x']))).rejects.toThrow();

    expect(await readdir(root)).toEqual([]);
  });

  it('accepts job keys and dotted names', () => {
    expect(() => validateKey('jobs/job_01J/input')).not.toThrow();
    expect(() => validateKey('a/.hidden/b.tar.gz')).not.toThrow();
    expect(() => validateKey('a/...')).not.toThrow();
  });
});
