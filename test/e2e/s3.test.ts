import {
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { BoringKitClient } from '../../client/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { fileInput, makePng } from '../support/fixtures.ts';
import {
  s3ServiceEnv,
  startS3Server,
  type S3TestServer,
} from '../support/s3-server.ts';
import { pino } from 'pino';
import { loadConfig } from '../../bin/config.ts';
import {
  startService,
  type Role,
  type RunningService,
} from '../../bin/service.ts';
import {
  baseEnv,
  KEY_A,
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';

// The service on S3 storage: clients upload to and download from presigned
// URLs of a local s3rver. s3rver checks no signatures, so what these tests
// prove is the service's own check of each upload, not S3's refusals.

let s3: S3TestServer;
let objects: S3Client;
let service: TestService;
let client: Client;

/** Keys in the bucket under `prefix`. */
async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await objects.send(
    new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }),
  );
  return (listing.Contents ?? []).map((object) => object.Key ?? '');
}

beforeAll(async () => {
  s3 = await startS3Server();
  objects = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    forcePathStyle: true,
  });
  service = await startTestService(s3ServiceEnv(s3, 'main'));
  client = new Client(service.url);
});

afterAll(async () => {
  await service.stop();
  objects.destroy();
  await s3.close();
});

describe('S3 storage', () => {
  it('runs a job from a presigned PUT to a presigned GET', async () => {
    const png = await makePng(320, 200);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('photo.png', 'image/png', png),
    });
    const upload = new URL(job.uploadIntent.url);
    expect(upload.origin).toBe(s3.endpoint);
    expect(upload.pathname).toBe(`/${s3.bucket}/main/uploads/${job.id}`);
    expect(upload.searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host',
    );

    expect((await client.upload(job, png)).status).toBe(200);
    const done = await client.waitForStatus(job.id, ['succeeded', 'failed']);
    expect(done.status, JSON.stringify(done.failure)).toBe('succeeded');
    expect(done.input.sizeBytes).toBe(png.length);

    const { bytes, response } = await client.download(job.id);
    expect(response.url.startsWith(`${s3.endpoint}/${s3.bucket}/`)).toBe(true);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('content-disposition')).toContain('attachment');
    expect((await sharp(bytes).metadata()).format).toBe('jpeg');
    expect(bytes.length).toBe(done.output.sizeBytes);

    expect(await keysUnder(`main/jobs/${job.id}/`)).toEqual([
      `main/jobs/${job.id}/input`,
      `main/jobs/${job.id}/output`,
    ]);
    await waitFor(
      async () =>
        (await keysUnder(`main/uploads/${job.id}`)).length === 0 || undefined,
      { what: 'the checked upload to be removed' },
    );
  });

  it('fails a job whose upload is not the declared type, with a refund', async () => {
    const png = await makePng(64, 64);
    const fake = Buffer.alloc(png.length, 'not a picture ');
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('fake.png', 'image/png', fake),
    });

    // s3rver accepts any body; the service rejects it when it checks the upload.
    expect((await client.upload(job, fake)).status).toBe(200);
    const failed = await client.waitForStatus(job.id, ['failed', 'succeeded']);
    expect(failed.failure).toMatchObject({
      code: 'invalid_input',
      retryable: false,
    });
    expect(failed.failure.message).toContain(
      'The uploaded bytes are not image/png',
    );
    expect(failed.credits.refunded).toBe(failed.credits.charged);
    expect(await keysUnder(`main/jobs/${job.id}/`)).toEqual([]);
    expect(await keysUnder(`main/uploads/${job.id}`)).toEqual([]);
  });

  it('fails a job whose upload is shorter than declared', async () => {
    const png = await makePng(64, 64);
    const { body: job } = await client.createJob({
      toolSlug: 'image-compress-api',
      input: fileInput('short.png', 'image/png', png),
    });

    const response = await fetch(job.uploadIntent.url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(png.subarray(0, 100)),
    });
    expect(response.status).toBe(200);
    const failed = await client.waitForStatus(job.id, ['failed', 'succeeded']);
    expect(failed.failure.code).toBe('invalid_input');
    expect(failed.failure.message).toBe(
      `The upload ended after 100 of the declared ${png.length} bytes. ` +
        'PUT the whole file.',
    );
  });

  it('converts a file with the typed client', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'boringkit-s3-client-'));
    try {
      const pngPath = join(workDir, 'client.png');
      await writeFile(pngPath, await makePng(120, 80));
      const typed = new BoringKitClient({ url: service.url, apiKey: KEY_A });
      const output = join(workDir, 'client.jpg');

      const result = await typed.convertFile('image-compress-api', pngPath, {
        output,
      });

      expect(result.job.status).toBe('succeeded');
      const bytes = await readFile(output);
      expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(bytes.length).toBe(result.job.output?.sizeBytes);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it('two API processes record each upload once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-s3-apis-'));
    const logger = pino({ level: 'silent' });
    const env = { ...baseEnv(dataDir), ...s3ServiceEnv(s3, 'shared') };
    const services: RunningService[] = [];
    try {
      for (const name of ['one', 'two']) {
        const config = loadConfig({
          ...env,
          BORINGKIT_READ_MODEL_PATH: join(dataDir, name, 'readmodel.sqlite'),
        });
        // The first process runs the worker too.
        const roles: Role[] = name === 'one' ? ['api', 'worker'] : ['api'];
        services.push(await startService(config, roles, logger));
      }
      const shared = new Client(services[1]!.url!);
      const png = await makePng(64, 64);
      const ids: string[] = [];
      for (let index = 0; index < 8; index++) {
        const { body: job } = await shared.createJob({
          toolSlug: 'image-compress-api',
          input: fileInput(`${index}.png`, 'image/png', png),
        });
        expect((await shared.upload(job, png)).status).toBe(200);
        ids.push(job.id);
      }

      for (const id of ids) {
        const done = await shared.waitForStatus(id, ['succeeded', 'failed']);
        expect(done.status, JSON.stringify(done.failure)).toBe('succeeded');
        const { body } = await shared.request('GET', `/v1/jobs/${id}/events`);
        const uploads = (body.data as { type: string }[]).filter(
          (event) => event.type === 'InputUploaded',
        );
        expect(uploads).toHaveLength(1);
        expect(await keysUnder(`shared/jobs/${id}/input`)).toHaveLength(1);
      }
      expect(await keysUnder('shared/uploads/')).toEqual([]);
    } finally {
      for (const service of services) await service.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('deletes the input and output when their retention ends', async () => {
    const short = await startTestService({
      ...s3ServiceEnv(s3, 'retention'),
      BORINGKIT_RETENTION_SECONDS: '2',
    });
    try {
      const shortClient = new Client(short.url);
      const png = await makePng(64, 64);
      const { body: job } = await shortClient.createJob({
        toolSlug: 'image-compress-api',
        input: fileInput('brief.png', 'image/png', png),
      });
      await shortClient.upload(job, png);
      await shortClient.waitForStatus(job.id, ['succeeded']);

      await waitFor(
        async () => {
          const { body } = await shortClient.request(
            'GET',
            `/v1/jobs/${job.id}/events`,
          );
          const types = (body.data as { type: string }[]).map((e) => e.type);
          return types.includes('OutputExpired') || undefined;
        },
        { timeoutMs: 20_000, what: 'OutputExpired' },
      );
      expect(await keysUnder(`retention/jobs/${job.id}/`)).toEqual([]);
      await expect(
        objects.send(
          new HeadObjectCommand({
            Bucket: s3.bucket,
            Key: `retention/jobs/${job.id}/output`,
          }),
        ),
      ).rejects.toThrow();
    } finally {
      await short.stop();
    }
  });
});
