import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Tests pass explicit credentials, but a client built without them must
// still never query the EC2 instance metadata service.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

/**
 * The only access key s3rver accepts. It checks that the key id exists and
 * checks no SigV4 signature, so the secret is never verified.
 */
export const S3_TEST_CREDENTIALS = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
};

export const S3_TEST_REGION = 'us-east-1';

/** A running s3rver on 127.0.0.1 with one empty bucket. */
export interface S3TestServer {
  /** Base URL such as `http://127.0.0.1:40123`; buckets are in the path. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and deletes its directory. */
  close(): Promise<void>;
}

interface S3rverOptions {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs?: string[] }[];
}

interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}

// s3rver 3.7 is CommonJS without type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as new (
  options: S3rverOptions,
) => S3rver;

/** One rule of a bucket's CORS configuration, as S3's `CORSRule`. */
export interface S3CorsRule {
  /** Origins such as `http://127.0.0.1:40123`, each with at most one `*`. */
  allowedOrigins: string[];
  allowedMethods: ('GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD')[];
  /** Request headers a preflight may name, matched without case. */
  allowedHeaders?: string[];
  /** Response headers that scripts of the page may read. */
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
}

export interface S3TestServerOptions {
  /**
   * The bucket's CORS rules. Without them s3rver rejects every preflight.
   * NOTE: s3rver 3.7 responds to a matching preflight with
   * `Access-Control-Allow-Origin: *` where S3 returns the request's origin,
   * which differs only for requests that send credentials.
   */
  cors?: S3CorsRule[];
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Renders `rules` as the XML body of S3's PutBucketCors. */
function corsConfiguration(rules: S3CorsRule[]): string {
  const element = (name: string, values: readonly string[] = []) =>
    values.map((value) => `<${name}>${escapeXml(value)}</${name}>`).join('');
  const rendered = rules.map(
    (rule) =>
      '<CORSRule>' +
      element('AllowedOrigin', rule.allowedOrigins) +
      element('AllowedMethod', rule.allowedMethods) +
      element('AllowedHeader', rule.allowedHeaders) +
      element('ExposeHeader', rule.exposeHeaders) +
      (rule.maxAgeSeconds === undefined
        ? ''
        : element('MaxAgeSeconds', [String(rule.maxAgeSeconds)])) +
      '</CORSRule>',
  );
  return `<CORSConfiguration>${rendered.join('')}</CORSConfiguration>`;
}

/**
 * Starts s3rver on a free port of 127.0.0.1, storing objects in a new
 * temporary directory, and creates `bucket` in it with the CORS rules of
 * `options.cors`, if any.
 */
export async function startS3Server(
  bucket = 'boringkit-test',
  options: S3TestServerOptions = {},
): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'boringkit-s3rver-'));
  const configs = options.cors ? [corsConfiguration(options.cors)] : [];
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs }],
  });

  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    region: S3_TEST_REGION,
    credentials: { ...S3_TEST_CREDENTIALS },
    async close() {
      // SDK clients keep connections alive, and close() waits for them.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Returns the variables that put the service's blobs in `server`'s bucket
 * under `keyPrefix`, with the server's credentials.
 */
export function s3ServiceEnv(
  server: S3TestServer,
  keyPrefix: string,
): NodeJS.ProcessEnv {
  return {
    BORINGKIT_S3_BUCKET: server.bucket,
    BORINGKIT_S3_ENDPOINT: server.endpoint,
    BORINGKIT_S3_REGION: server.region,
    BORINGKIT_S3_KEY_PREFIX: keyPrefix,
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
  };
}
