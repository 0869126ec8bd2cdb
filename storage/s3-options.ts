import type { S3ClientConfig } from '@aws-sdk/client-s3';

import { validateKey } from './local.ts';

export interface S3BlobStorageOptions {
  bucket: string;
  region: string;
  /**
   * Base URL of an S3-compatible server such as MinIO. When it is set,
   * requests use path-style URLs (`{endpoint}/{bucket}/{key}`). Omit it for
   * AWS S3.
   */
  endpoint?: string;
  /** Credentials or a credential provider. Default: the SDK's chain. */
  credentials?: S3ClientConfig['credentials'];
  /**
   * Prefix added to every object key, such as `staging`, so that several
   * deployments can share a bucket. Keys in the API never include it.
   */
  keyPrefix?: string;
  /** Time limit for opening a connection, in ms. Default 5000. */
  connectionTimeoutMs?: number;
  /**
   * Time limit for sending a request and receiving its response headers, in
   * ms. Default 60000. The upload in `write` uses `uploadTimeoutMs` instead.
   */
  requestTimeoutMs?: number;
  /**
   * Time limit for the upload of one blob by `write`, in ms. Default
   * 1800000 (30 min).
   */
  uploadTimeoutMs?: number;
  /**
   * Time a connection may stay idle while a request or response body is in
   * flight, in ms. Default 60000. It also applies when a reader of `read`
   * stops consuming the stream.
   */
  idleTimeoutMs?: number;
  /** Attempts per request, the first one included. Default 3. */
  maxAttempts?: number;
  /**
   * Directory for the temporary copy that `write` uploads from. Default
   * os.tmpdir().
   */
  spoolDirectory?: string;
}

/** Validates a key prefix and returns it with one trailing `/`, or `''`. */
export function normalizeKeyPrefix(prefix: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (trimmed === '') return '';
  try {
    validateKey(trimmed);
  } catch (error) {
    throw new Error(`Invalid S3 key prefix: ${(error as Error).message}`);
  }
  return `${trimmed}/`;
}

/** Returns the endpoint without credentials in it, which errors may show. */
export function parseEndpoint(endpoint: string): string {
  const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new Error(
      'Invalid S3 endpoint: use an http or https URL such as ' +
        'http://127.0.0.1:9000',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error(
      'Invalid S3 endpoint: it contains credentials. Pass them in ' +
        '`credentials` instead.',
    );
  }
  return url.href.replace(/\/$/, '');
}

export function requireText(name: string, value: string): string {
  if (value.trim() === '') {
    throw new Error(`Missing S3 ${name}: set a non-empty value`);
  }
  return value;
}

type CountOption =
  | 'connectionTimeoutMs'
  | 'requestTimeoutMs'
  | 'uploadTimeoutMs'
  | 'idleTimeoutMs'
  | 'maxAttempts';

export function positive(
  name: CountOption,
  options: S3BlobStorageOptions,
  fallback: number,
): number {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(
      `Invalid S3 option ${name}: ${String(value)}. ` +
        'Use an integer of 1 or more.',
    );
  }
  return value;
}
