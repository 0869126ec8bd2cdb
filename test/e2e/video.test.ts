import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo } from '../fixtures/make-video.ts';
import { Client } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import { startTestService, type TestService } from '../support/service.ts';

const run = promisify(execFile);

let service: TestService;
let client: Client;
let scratch: string;
let clip: Buffer;

interface Stream {
  codec_type: string;
  codec_name: string;
  height?: number;
}

async function streamsOf(bytes: Buffer): Promise<Stream[]> {
  const path = join(scratch, `probe-${Date.now()}`);
  await writeFile(path, bytes);
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_streams', '-of', 'json', path],
  ]);
  return (JSON.parse(stdout) as { streams: Stream[] }).streams;
}

beforeAll(async () => {
  service = await startTestService();
  client = new Client(service.url);
  scratch = await mkdtemp(join(tmpdir(), 'boringkit-video-'));
  await makeVideo(join(scratch, 'clip.mp4'), { container: 'mp4', seconds: 2 });
  clip = await readFile(join(scratch, 'clip.mp4'));
});
afterAll(async () => {
  await service.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function runVideoJob(toolSlug: string, options = {}) {
  const created = await client.createJob({
    toolSlug,
    input: fileInput('clip.mp4', 'video/mp4', clip, options),
  });
  expect(created.status).toBe(201);
  expect((await client.upload(created.body, clip)).status).toBe(200);
  return client.waitForStatus(created.body.id, ['succeeded', 'failed']);
}

describe('video tools end to end', () => {
  it('compress-video scales down to maxHeight', async () => {
    const job = await runVideoJob('compress-video', { maxHeight: 144 });
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    const video = (await streamsOf(bytes)).find(
      (s) => s.codec_type === 'video',
    );
    expect(video?.codec_name).toBe('h264');
    expect(video?.height).toBe(144);
  });

  it('mute-video drops the audio', async () => {
    const job = await runVideoJob('mute-video');
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    const types = (await streamsOf(bytes)).map((s) => s.codec_type);
    expect(types).toContain('video');
    expect(types).not.toContain('audio');
  });

  it('video-to-gif makes a GIF', async () => {
    const job = await runVideoJob('video-to-gif', { duration: 1, fps: 5 });
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  });

  it('text declared as MP4 is refused at upload', async () => {
    const text = Buffer.from('not a video at all, just some words');
    const created = await client.createJob({
      toolSlug: 'trim-video',
      input: fileInput('fake.mp4', 'video/mp4', text),
    });
    const upload = await client.upload(created.body, text);
    expect(upload.status).toBe(415);
  });
});
