import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BlobNotFoundError } from '../../storage/local.ts';
import { inputKey, outputKey, type BlobStorage } from '../../storage/port.ts';

/** One adapter's storage, empty, with the means to release it. */
export interface BlobStorageFixture {
  storage: BlobStorage;
  /** Releases the storage after a test. */
  cleanup(): Promise<void>;
}

/** Keys that every adapter must reject before it touches storage. */
export const INVALID_KEYS = [
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

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Yields `chunks`, then fails the stream as a dropped upload would. */
export function failingBody(chunks: string[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield Buffer.from(chunk);
      throw new Error('connection reset');
    })(),
  );
}

/** Reads a stream to its end and returns its length and SHA-256. */
async function measureStream(
  stream: Readable,
): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    sizeBytes += bytes.byteLength;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

/**
 * Defines the blob-storage contract suite for one adapter. `factory` runs
 * before each test and must return storage in which no blob exists yet.
 */
export function blobStorageContract(
  name: string,
  factory: () => Promise<BlobStorageFixture>,
): void {
  describe(`${name} blob storage contract`, () => {
    let fixture: BlobStorageFixture;
    let storage: BlobStorage;
    let scratch: string;

    beforeEach(async () => {
      fixture = await factory();
      storage = fixture.storage;
      scratch = await mkdtemp(path.join(tmpdir(), 'boringkit-contract-'));
    });

    afterEach(async () => {
      await fixture.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    describe('write', () => {
      it('round trip with size and sha256', async () => {
        const body = Buffer.from('hello, blob storage\n'.repeat(10_000));

        const stored = await storage.write(
          inputKey('job_1'),
          Readable.from(body),
        );

        expect(stored.sizeBytes).toBe(body.byteLength);
        expect(stored.sha256).toBe(sha256(body));
        const read = await storage.read(inputKey('job_1'));
        expect(await text(read)).toBe(body.toString());
      });

      it('accepts string chunks', async () => {
        const stored = await storage.write(
          'a/b',
          Readable.from(['ab', 'cd', 'żółw']),
        );

        expect(stored.sizeBytes).toBe(Buffer.byteLength('abcdżółw'));
        expect(stored.sha256).toBe(sha256('abcdżółw'));
        expect(await text(await storage.read('a/b'))).toBe('abcdżółw');
      });

      it('accepts Buffer chunks', async () => {
        const bytes = Buffer.from([0, 1, 2, 255, 254, 13, 10]);
        const body = Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]);

        const stored = await storage.write('bytes', body);

        expect(stored.sizeBytes).toBe(bytes.byteLength);
        expect(stored.sha256).toBe(sha256(bytes));
        const read = await measureStream(await storage.read('bytes'));
        expect(read.sha256).toBe(sha256(bytes));
      });

      it('measures an empty body', async () => {
        const stored = await storage.write('empty', Readable.from([]));

        expect(stored.sizeBytes).toBe(0);
        expect(stored.sha256).toBe(sha256(''));
        expect(await text(await storage.read('empty'))).toBe('');
      });

      it('streams a large blob', async () => {
        const chunkBytes = 64 * 1024;
        const blob = randomBytes(6 * 1024 * 1024 + 123);
        const chunks = function* () {
          for (let offset = 0; offset < blob.byteLength; offset += chunkBytes) {
            yield blob.subarray(offset, offset + chunkBytes);
          }
        };

        const stored = await storage.write('large', Readable.from(chunks()));

        expect(stored.sizeBytes).toBe(blob.byteLength);
        expect(stored.sha256).toBe(sha256(blob));
        const read = await measureStream(await storage.read('large'));
        expect(read.sizeBytes).toBe(blob.byteLength);
        expect(read.sha256).toBe(sha256(blob));
      });

      it('replaces an existing blob', async () => {
        await storage.write('k', Readable.from(['first version']));

        const stored = await storage.write('k', Readable.from(['second']));

        expect(stored.sizeBytes).toBe(6);
        expect(await text(await storage.read('k'))).toBe('second');
      });

      it('failed write keeps the old blob', async () => {
        await storage.write('k', Readable.from(['old']));

        const write = storage.write('k', failingBody(['new', 'er']));

        await expect(write).rejects.toThrow('connection reset');
        expect(await text(await storage.read('k'))).toBe('old');
      });

      it('failed write stores nothing', async () => {
        const write = storage.write(inputKey('job_2'), failingBody(['a']));

        await expect(write).rejects.toThrow('connection reset');
        expect(await storage.exists(inputKey('job_2'))).toBe(false);
      });

      it('destroyed body stores nothing', async () => {
        const body = new Readable({ read() {} });
        body.push('partial');
        setTimeout(() => body.destroy(), 10);

        await expect(storage.write('k', body)).rejects.toThrow();

        expect(await storage.exists('k')).toBe(false);
      });

      it('rejects object chunks', async () => {
        const body = Readable.from([{ not: 'bytes' }]);

        await expect(storage.write('k', body)).rejects.toThrow(TypeError);
        expect(await storage.exists('k')).toBe(false);
      });

      it('keys with dots round trip', async () => {
        for (const key of ['a/.hidden/b.tar.gz', 'a/...', 'v1.2/-_.x']) {
          await storage.write(key, Readable.from([key]));

          expect(await text(await storage.read(key))).toBe(key);
        }
      });
    });

    describe('read', () => {
      it('missing key rejects with ENOENT', async () => {
        const read = storage.read('jobs/none/input');

        await expect(read).rejects.toThrow(BlobNotFoundError);
        await expect(read).rejects.toThrow(
          expect.objectContaining({ code: 'ENOENT', key: 'jobs/none/input' }),
        );
      });

      it('parent of a blob is not a blob', async () => {
        await storage.write(inputKey('job_3'), Readable.from(['x']));

        const read = storage.read('jobs/job_3');

        await expect(read).rejects.toThrow(BlobNotFoundError);
      });
    });

    describe('download', () => {
      it('copies to a local path', async () => {
        const body = Buffer.from([0, 1, 2, 255, 254]);
        await storage.write('k', Readable.from([body]));
        const local = path.join(scratch, 'copy.bin');
        await writeFile(local, 'stale contents that are longer');

        await storage.download('k', local);

        expect(await readFile(local)).toEqual(body);
      });

      it('missing key rejects with ENOENT', async () => {
        const local = path.join(scratch, 'copy.bin');

        const download = storage.download('none', local);

        await expect(download).rejects.toThrow(BlobNotFoundError);
        await expect(download).rejects.toThrow(
          expect.objectContaining({ code: 'ENOENT' }),
        );
        expect(await readdir(scratch)).toEqual([]);
      });

      it('into a missing directory keeps errno', async () => {
        await storage.write('k', Readable.from(['x']));
        const local = path.join(scratch, 'no-such-dir/copy.bin');

        const download = storage.download('k', local);

        await expect(download).rejects.not.toThrow(BlobNotFoundError);
        await expect(download).rejects.toThrow(
          expect.objectContaining({ code: 'ENOENT' }),
        );
      });
    });

    describe('exists', () => {
      it('reports blobs only', async () => {
        await storage.write(inputKey('job_4'), Readable.from(['x']));

        expect(await storage.exists(inputKey('job_4'))).toBe(true);
        expect(await storage.exists(outputKey('job_4'))).toBe(false);
        expect(await storage.exists('jobs/job_4')).toBe(false);
        expect(await storage.exists('jobs/job_4/input/below')).toBe(false);
      });
    });

    describe('remove', () => {
      it('deletes the blob', async () => {
        await storage.write('k', Readable.from(['x']));
        await storage.write('other', Readable.from(['y']));

        await storage.remove('k');

        expect(await storage.exists('k')).toBe(false);
        expect(await storage.exists('other')).toBe(true);
        await expect(storage.read('k')).rejects.toThrow(BlobNotFoundError);
      });

      it('missing key succeeds', async () => {
        const remove = storage.remove('jobs/none/input');

        await expect(remove).resolves.toBeUndefined();
      });
    });

    describe('invalid keys', () => {
      for (const key of INVALID_KEYS) {
        it(`rejects ${JSON.stringify(key.slice(0, 20))}`, async () => {
          const local = path.join(scratch, 'copy.bin');
          const message = 'Invalid blob key';

          await expect(storage.read(key)).rejects.toThrow(message);
          await expect(
            storage.write(key, Readable.from(['x'])),
          ).rejects.toThrow(message);
          await expect(storage.download(key, local)).rejects.toThrow(message);
          await expect(storage.exists(key)).rejects.toThrow(message);
          await expect(storage.remove(key)).rejects.toThrow(message);
          expect(await readdir(scratch)).toEqual([]);
        });
      }
    });
  });
}
