import type { Readable } from 'node:stream';

/** A blob written to storage, measured while it streamed. */
export interface StoredBlob {
  sizeBytes: number;
  sha256: string;
}

/**
 * The blob-storage port. Keys are relative paths such as
 * `jobs/{jobId}/input`; adapters decide where the bytes live.
 */
export interface BlobStorage {
  /** Streams `body` into `key`, replacing it atomically on success. */
  write(key: string, body: Readable): Promise<StoredBlob>;
  /** Opens the blob for reading; rejects when it does not exist. */
  read(key: string): Promise<Readable>;
  /** Copies the blob to a local file, for engines that need a path. */
  download(key: string, localPath: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes the blob; deleting a missing blob is not an error. */
  remove(key: string): Promise<void>;
}

export function inputKey(jobId: string): string {
  return `jobs/${jobId}/input`;
}

export function outputKey(jobId: string): string {
  return `jobs/${jobId}/output`;
}
