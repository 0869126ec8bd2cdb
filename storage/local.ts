import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
} from 'node:fs';
import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { measureBlob } from './measure.ts';
import type { BlobStorage, StoredBlob } from './port.ts';

const KEY_PATTERN = /^[A-Za-z0-9_./-]+$/;
const MAX_KEY_LENGTH = 1024;

/** The key names no stored blob; `code` is 'ENOENT' as for a missing file. */
export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  readonly code = 'ENOENT';

  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`Blob not found: ${key}`, options);
  }
}

/**
 * Blob storage in a directory on the local disk. A key maps to the file of
 * the same relative path under the root, so `jobs/job_1/input` is stored at
 * `{rootDir}/jobs/job_1/input`.
 */
export class LocalBlobStorage implements BlobStorage {
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  /**
   * Streams `body` into a temporary file beside the target, fsyncs it and
   * renames it over the target, so readers see the old blob or the whole new
   * one. On any error the temporary file is deleted and the target is left
   * as it was.
   */
  async write(key: string, body: Readable): Promise<StoredBlob> {
    const target = this.pathOf(key);
    const directory = path.dirname(target);
    // Inputs and outputs are readable by the service's user alone.
    await mkdir(directory, { recursive: true, mode: 0o700 });

    const temporary = `${target}.tmp-${randomBytes(8).toString('hex')}`;
    const measure = measureBlob();

    // `flush` fsyncs the file before the stream closes it. pipeline settles
    // only after that close, so no write is in flight when the temporary
    // file is renamed or deleted. A FileHandle's stream is not used because
    // with autoClose false, FileHandle.close() never settles on Node 20.20.
    try {
      await pipeline(
        body,
        measure.step,
        createWriteStream(temporary, {
          flags: 'wx',
          flush: true,
          mode: 0o600,
        }),
      );
      await rename(temporary, target);
    } catch (error) {
      await unlink(temporary).catch(ignoreMissing);
      throw error;
    }

    // The rename only survives a crash once the directory entry is on disk.
    await syncDirectory(directory);
    return measure.result();
  }

  /**
   * Opens the blob for reading. The file is opened before the promise
   * settles, so a missing blob rejects with `BlobNotFoundError` here instead
   * of failing the stream later.
   */
  async read(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw notFoundOr(error, key);
    }

    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new BlobNotFoundError(key);
    }
    return createReadStream(file, { fd });
  }

  /** Copies the blob to `localPath`, replacing that file if it exists. */
  async download(key: string, localPath: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await copyFile(file, localPath);
    } catch (error) {
      // copyFile reports a missing destination directory as ENOENT as well.
      if (isMissing(error) && !(await this.exists(key))) {
        throw new BlobNotFoundError(key, { cause: error });
      }
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  // NOTE: the emptied `jobs/{jobId}/` directory stays behind, because
  // deleting it could race with a concurrent write into the same directory.
  async remove(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch(ignoreMissing);
  }

  /** Resolves a validated key to its file under the root. */
  private pathOf(key: string): string {
    validateKey(key);
    const file = path.join(this.root, key);

    // validateKey already rules out escapes; this guards against a future
    // change to the key rules.
    if (!file.startsWith(this.root + path.sep)) {
      throw invalidKey(key);
    }
    return file;
  }
}

/**
 * Throws unless `key` is a relative path of segments made of letters,
 * digits, `_`, `.` and `-`, with no empty, `.` or `..` segment, so that it
 * can never resolve outside the storage root.
 */
export function validateKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw invalidKey(key);
  if (!KEY_PATTERN.test(key)) throw invalidKey(key);

  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw invalidKey(key);
    }
  }
}

function invalidKey(key: string): Error {
  return new Error(
    `Invalid blob key ${JSON.stringify(key.slice(0, 100))}: use a relative ` +
      `path of at most ${MAX_KEY_LENGTH} characters from A-Z a-z 0-9 _ . - /, ` +
      `without empty, "." or ".." segments`,
  );
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** ENOTDIR means a parent segment is a file, so the blob is missing too. */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function ignoreMissing(error: unknown): void {
  if (!isMissing(error)) throw error;
}

function notFoundOr(error: unknown, key: string): unknown {
  return isMissing(error)
    ? new BlobNotFoundError(key, { cause: error })
    : error;
}
