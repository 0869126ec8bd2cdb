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
  configureBuckets: { name: string }[];
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

/**
 * Starts s3rver on a free port of 127.0.0.1, storing objects in a new
 * temporary directory, and creates `bucket` in it.
 */
export async function startS3Server(
  bucket = 'boringkit-test',
): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'boringkit-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
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
