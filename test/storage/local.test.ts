import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LocalBlobStorage, validateKey } from '../../storage/local.ts';
import { inputKey, outputKey } from '../../storage/port.ts';
import { blobStorageContract, failingBody, INVALID_KEYS } from './contract.ts';

blobStorageContract('LocalBlobStorage', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'boringkit-local-'));
  return {
    storage: new LocalBlobStorage(path.join(root, 'blobs')),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

let root: string;
let storage: LocalBlobStorage;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'boringkit-local-'));
  storage = new LocalBlobStorage(path.join(root, 'blobs'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('LocalBlobStorage files', () => {
  it('write stores at the key path', async () => {
    await storage.write(outputKey('job_1'), Readable.from(['output']));

    const onDisk = await readFile(path.join(root, 'blobs/jobs/job_1/output'));
    expect(onDisk.toString()).toBe('output');
  });

  it('failed write leaves no files', async () => {
    const write = storage.write(inputKey('job_2'), failingBody(['a', 'b']));

    await expect(write).rejects.toThrow('connection reset');
    const directory = path.join(root, 'blobs/jobs/job_2');
    expect(await readdir(directory)).toEqual([]);
  });

  it('failed replace leaves only the old file', async () => {
    await storage.write('k', Readable.from(['old']));

    await expect(storage.write('k', failingBody(['new']))).rejects.toThrow();

    expect(await readdir(path.join(root, 'blobs'))).toEqual(['k']);
  });

  it('destroyed body leaves no files', async () => {
    const body = new Readable({ read() {} });
    body.push('partial');
    setTimeout(() => body.destroy(), 10);

    await expect(storage.write('k', body)).rejects.toThrow();

    expect(await readdir(path.join(root, 'blobs'))).toEqual([]);
  });

  it('object chunks leave no files', async () => {
    const body = Readable.from([{ not: 'bytes' }]);

    await expect(storage.write('k', body)).rejects.toThrow(TypeError);
    expect(await readdir(path.join(root, 'blobs'))).toEqual([]);
  });

  it('rejected write creates nothing', async () => {
    await expect(storage.write('../x', Readable.from(['x']))).rejects.toThrow();

    expect(await readdir(root)).toEqual([]);
  });
});

describe('validateKey', () => {
  for (const key of INVALID_KEYS) {
    it(`rejects ${JSON.stringify(key.slice(0, 20))}`, () => {
      expect(() => validateKey(key)).toThrow('Invalid blob key');
    });
  }

  it('accepts job keys and dotted names', () => {
    expect(() => validateKey('jobs/job_01J/input')).not.toThrow();
    expect(() => validateKey('a/.hidden/b.tar.gz')).not.toThrow();
    expect(() => validateKey('a/...')).not.toThrow();
  });
});
