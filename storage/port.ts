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

/** Prefix of the keys that presigned uploads write to. */
export const UPLOADS_PREFIX = 'uploads/';

/**
 * Returns the key that a presigned upload writes to. The service checks the
 * blob there before it becomes the job's input, so `inputKey` never
 * contains unchecked bytes.
 */
export function uploadKey(jobId: string): string {
  return `${UPLOADS_PREFIX}${jobId}`;
}

/** The content type and exact length a presigned upload must carry. */
export interface UploadTarget {
  contentType: string;
  sizeBytes: number;
}

/** Headers of the response to a presigned download. */
export interface DownloadResponse {
  contentType: string;
  /** Sent as an attachment file name in Content-Disposition. */
  fileName: string;
}

/** A stored blob as a listing reports it. */
export interface ListedBlob {
  key: string;
  sizeBytes: number;
  /** When the store finished receiving the blob. */
  lastModified: Date;
}

/**
 * Storage that clients reach directly through presigned URLs, such as S3,
 * instead of through the API's own blob routes.
 */
export interface PresignedBlobStorage extends BlobStorage {
  /** A PUT URL for `key` that requires `target`'s type and length. */
  presignUpload(
    key: string,
    target: UploadTarget,
    expiresAt: Date,
  ): Promise<string>;
  /** A GET URL for `key` whose response carries `response`'s headers. */
  presignDownload(
    key: string,
    response: DownloadResponse,
    expiresAt: Date,
  ): Promise<string>;
  /** Blobs whose keys start with `prefix`, in key order, at most `limit`. */
  list(prefix: string, limit?: number): Promise<ListedBlob[]>;
}

export function isPresigned(
  storage: BlobStorage,
): storage is PresignedBlobStorage {
  return 'presignUpload' in storage;
}
