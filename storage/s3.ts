import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { BlobNotFoundError, validateKey } from './local.ts';
import {
  describeError,
  httpStatus,
  isMissingObject,
  isTransient,
} from './s3-errors.ts';
import {
  normalizeKeyPrefix,
  parseEndpoint,
  positive,
  requireText,
  type S3BlobStorageOptions,
} from './s3-options.ts';
import {
  attachmentDisposition,
  presignSeconds,
  validateContentType,
  validateUploadSize,
} from './s3-presign.ts';
import { spool } from './s3-spool.ts';
import type {
  DownloadResponse,
  ListedBlob,
  PresignedBlobStorage,
  StoredBlob,
  UploadTarget,
} from './port.ts';

export { attachmentDisposition } from './s3-presign.ts';
export type { S3BlobStorageOptions } from './s3-options.ts';

/** ListObjectsV2 returns at most 1000 keys per page. */
const LIST_PAGE_SIZE = 1000;
const DEFAULT_LIST_LIMIT = 1000;
const UPLOAD_RETRY_DELAY_MS = 200;

/**
 * Blob storage in an S3 bucket. Blob keys map to object keys under the
 * optional key prefix, so `jobs/job_1/input` with prefix `staging` is stored
 * as `staging/jobs/job_1/input`.
 */
export class S3BlobStorage implements PresignedBlobStorage {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly region: string;
  private readonly endpoint: string | undefined;
  private readonly keyPrefix: string;
  private readonly uploadTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly spoolDirectory: string;

  constructor(options: S3BlobStorageOptions) {
    this.bucket = requireText('bucket', options.bucket);
    this.region = requireText('region', options.region);
    this.endpoint =
      options.endpoint === undefined
        ? undefined
        : parseEndpoint(options.endpoint);
    this.keyPrefix = normalizeKeyPrefix(options.keyPrefix ?? '');
    this.uploadTimeoutMs = positive('uploadTimeoutMs', options, 30 * 60_000);
    this.maxAttempts = positive('maxAttempts', options, 3);
    this.spoolDirectory = options.spoolDirectory ?? tmpdir();

    this.client = new S3Client({
      region: this.region,
      endpoint: this.endpoint,
      forcePathStyle: this.endpoint !== undefined,
      credentials: options.credentials,
      maxAttempts: this.maxAttempts,
      // Checksums only where S3 requires them. With the defaults of SDK
      // 3.1178.0, s3rver 3.7 stores streamed bodies corrupted, and a
      // presigned PUT URL carries x-amz-checksum-crc32 of an empty body,
      // which no real upload matches.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: positive('connectionTimeoutMs', options, 5_000),
        requestTimeout: positive('requestTimeoutMs', options, 60_000),
        // Without this the request timeout only logs a warning.
        throwOnRequestTimeout: true,
        socketTimeout: positive('idleTimeoutMs', options, 60_000),
      },
    });
  }

  /**
   * Checks with HeadBucket that the bucket exists and the credentials reach
   * it. Call it at start-up, because `exists` reports a missing bucket as a
   * missing blob.
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      throw new Error(this.describeBucketFailure(error), { cause: error });
    }
  }

  /**
   * Streams `body` into a private temporary file while measuring it, then
   * uploads that file with PutObject, which needs the length up front. S3
   * replaces an object only when a PutObject completes, so a failed write
   * leaves the previous blob as it was.
   */
  async write(key: string, body: Readable): Promise<StoredBlob> {
    const objectKey = this.objectKey(key);
    const spoolFile = path.join(
      this.spoolDirectory,
      `boringkit-s3-${randomBytes(8).toString('hex')}`,
    );

    try {
      const stored = await spool(body, spoolFile);
      await this.upload(key, objectKey, spoolFile, stored.sizeBytes);
      return stored;
    } finally {
      await rm(spoolFile, { force: true });
    }
  }

  /**
   * Opens the blob with GetObject. A missing blob rejects here with
   * `BlobNotFoundError`, and a transfer failure later errors the stream.
   */
  async read(key: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    let body: unknown;
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      body = output.Body;
    } catch (error) {
      if (isMissingObject(error)) {
        throw new BlobNotFoundError(key, { cause: error });
      }
      throw this.failure('GetObject', `blob ${key}`, error);
    }

    if (!(body instanceof Readable)) {
      throw new Error(`S3 GetObject of blob ${key} returned no body stream`);
    }
    return body;
  }

  /**
   * Copies the blob to `localPath`, replacing that file if it exists. A
   * missing blob rejects before the file is touched; a failed transfer
   * deletes the partial file.
   */
  async download(key: string, localPath: string): Promise<void> {
    const body = await this.read(key);
    try {
      await pipeline(body, createWriteStream(localPath));
    } catch (error) {
      // The transfer error matters more than a failed clean-up.
      await rm(localPath, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Reports whether the blob exists, with HeadObject. A missing bucket also
   * yields false, because a HEAD error response has no body to tell them
   * apart.
   */
  async exists(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      return true;
    } catch (error) {
      if (httpStatus(error) === 404) return false;
      throw this.failure('HeadObject', `blob ${key}`, error);
    }
  }

  /** Deletes the blob. DeleteObject of a missing key returns 204 in S3. */
  async remove(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
    } catch (error) {
      throw this.failure('DeleteObject', `blob ${key}`, error);
    }
  }

  /**
   * Lists blobs whose keys start with `prefix`, in key order, following
   * ListObjectsV2 pages until `limit` blobs (default 1000) are found.
   */
  async list(
    prefix: string,
    limit = DEFAULT_LIST_LIMIT,
  ): Promise<ListedBlob[]> {
    validateListPrefix(prefix);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new Error(
        `Invalid list limit ${limit}: use an integer of 1 or more`,
      );
    }

    const blobs: ListedBlob[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.listPage(
        prefix,
        Math.min(LIST_PAGE_SIZE, limit - blobs.length),
        continuationToken,
      );
      for (const object of page.Contents ?? []) {
        blobs.push(this.listedBlob(object));
      }

      // A truncated page without keys would otherwise loop forever.
      const madeProgress = (page.Contents ?? []).length > 0;
      continuationToken =
        page.IsTruncated && madeProgress
          ? page.NextContinuationToken
          : undefined;
    } while (continuationToken !== undefined && blobs.length < limit);

    return blobs.slice(0, limit);
  }

  /**
   * Presigns a PutObject URL whose signature covers Content-Type and
   * Content-Length, so S3 rejects an upload with another type or size.
   * NOTE: the tests run against s3rver, which checks no signatures, so no
   * test shows S3 enforcing this.
   */
  async presignUpload(
    key: string,
    target: UploadTarget,
    expiresAt: Date,
  ): Promise<string> {
    const objectKey = this.objectKey(key);
    validateContentType(target.contentType);
    validateUploadSize(target.sizeBytes);
    const expiresIn = presignSeconds(expiresAt);

    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      ContentType: target.contentType,
      ContentLength: target.sizeBytes,
    });
    // The presigner puts content-type on its unsignable list, and a name in
    // signableHeaders overrides that list (@aws-sdk/s3-request-presigner and
    // @smithy/signature-v4, 3.1178.0). Content-length is signed by default
    // and is named here so that the URL never depends on that default.
    return getSignedUrl(this.client, command, {
      expiresIn,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
  }

  /**
   * Presigns a GetObject URL whose response carries `response`'s content
   * type and an attachment Content-Disposition with its file name.
   */
  async presignDownload(
    key: string,
    response: DownloadResponse,
    expiresAt: Date,
  ): Promise<string> {
    const objectKey = this.objectKey(key);
    validateContentType(response.contentType);
    const expiresIn = presignSeconds(expiresAt);

    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      ResponseContentType: response.contentType,
      ResponseContentDisposition: attachmentDisposition(response.fileName),
    });
    return getSignedUrl(this.client, command, { expiresIn });
  }

  /** Closes the client's pooled connections. */
  destroy(): void {
    this.client.destroy();
  }

  /**
   * Uploads the spooled file. The SDK never retries a request with a stream
   * body, so this retries transient failures itself, each time from a new
   * stream of the file. On each failed attempt the SDK still writes "An
   * error was encountered in a non-retryable streaming request." to the
   * console.
   */
  private async upload(
    key: string,
    objectKey: string,
    file: string,
    sizeBytes: number,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const body = createReadStream(file);
      try {
        const command = new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: body,
          ContentLength: sizeBytes,
        });
        await this.client.send(command, {
          requestTimeout: this.uploadTimeoutMs,
        });
        return;
      } catch (error) {
        if (attempt >= this.maxAttempts || !isTransient(error)) {
          throw this.failure('PutObject', `blob ${key}`, error);
        }
      } finally {
        body.destroy();
      }
      await delay(UPLOAD_RETRY_DELAY_MS * 2 ** (attempt - 1));
    }
  }

  private listPage(
    prefix: string,
    maxKeys: number,
    continuationToken: string | undefined,
  ) {
    const command = new ListObjectsV2Command({
      Bucket: this.bucket,
      Prefix: this.keyPrefix + prefix,
      MaxKeys: maxKeys,
      ContinuationToken: continuationToken,
    });
    return this.client.send(command).catch((error: unknown) => {
      const subject = `blobs under prefix "${prefix}"`;
      throw this.failure('ListObjectsV2', subject, error);
    });
  }

  private listedBlob(object: _Object): ListedBlob {
    const { Key: key, Size: sizeBytes, LastModified: lastModified } = object;
    if (key === undefined || sizeBytes === undefined || !lastModified) {
      throw new Error(
        `S3 ListObjectsV2 in bucket ${this.bucket} returned an entry ` +
          `without Key, Size or LastModified: ${JSON.stringify(object)}`,
      );
    }
    return { key: key.slice(this.keyPrefix.length), sizeBytes, lastModified };
  }

  /** Validates a blob key and returns its object key in the bucket. */
  private objectKey(key: string): string {
    validateKey(key);
    return this.keyPrefix + key;
  }

  /** Wraps an SDK error with the operation, the blob and the bucket. */
  private failure(operation: string, subject: string, error: unknown): Error {
    return new Error(
      `S3 ${operation} of ${subject} in bucket ${this.bucket} failed: ` +
        describeError(error),
      { cause: error },
    );
  }

  private describeBucketFailure(error: unknown): string {
    const where =
      `S3 bucket "${this.bucket}" at ` +
      (this.endpoint ?? `the AWS endpoint of region ${this.region}`);
    const status = httpStatus(error);

    if (status === 404) {
      return (
        `${where} does not exist. Create the bucket, or set the name ` +
        `and region of an existing one.`
      );
    }
    if (status === 401 || status === 403) {
      return (
        `${where} denied access (HTTP ${status}). Grant the configured ` +
        `credentials s3:ListBucket, s3:GetObject, s3:PutObject and ` +
        `s3:DeleteObject on the bucket.`
      );
    }
    if (status === 301) {
      return `${where} is in another region. Set the bucket's region.`;
    }
    return (
      `${where} is not reachable: ${describeError(error)}. Check the ` +
      `endpoint, region, credentials and network access.`
    );
  }
}

/** Accepts `''`, a key, or a key followed by `/`. */
function validateListPrefix(prefix: string): void {
  if (prefix === '') return;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
