import { execFile, spawn } from 'node:child_process';
import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ffmpegStatus,
  probe,
  runFfmpeg,
} from '../../workers/engines/ffmpeg.ts';
import type { ToolRunContext, ToolRunner } from '../../workers/tool.ts';
import { createCompressVideoRunner } from '../../workers/tools/video-compress.ts';
import { createVideoToGifRunner } from '../../workers/tools/video-gif.ts';
import { createMuteVideoRunner } from '../../workers/tools/video-mute.ts';
import { createTrimVideoRunner } from '../../workers/tools/video-trim.ts';
import { alongsideInputCheck } from '../../workers/tools/video.ts';
import {
  countFrames,
  makeAudioOnly,
  makeVideo,
  type ClipSpec,
} from '../fixtures/make-video.ts';
import { waitFor } from '../support/service.ts';

const execFileAsync = promisify(execFile);

let root: string;
const clips = {
  mp4: '',
  silentMp4: '',
  mov: '',
  webm: '',
  odd: '',
  long: '',
  audioOnly: '',
};

const CONTENT_TYPES = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
} as const;

async function clip(name: string, spec: ClipSpec): Promise<string> {
  const path = join(root, name);
  await makeVideo(path, spec);
  return path;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'video-tools-'));
  const [mp4, silentMp4, mov, webm, odd, long] = await Promise.all([
    clip('clip.mp4', { container: 'mp4', seconds: 4 }),
    clip('silent.mp4', { container: 'mp4', seconds: 2, audio: false }),
    clip('clip.mov', { container: 'mov', seconds: 2 }),
    clip('clip.webm', { container: 'webm', seconds: 2 }),
    clip('odd.mp4', {
      container: 'mp4',
      seconds: 2,
      width: 161,
      height: 121,
      pixelFormat: 'yuv444p',
    }),
    clip('long.mp4', {
      container: 'mp4',
      seconds: 60,
      width: 640,
      height: 360,
    }),
  ]);
  const audioOnly = join(root, 'tone.m4a');
  await makeAudioOnly(audioOnly, 2);
  Object.assign(clips, { mp4, silentMp4, mov, webm, odd, long, audioOnly });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface TestRun {
  context: ToolRunContext;
  controller: AbortController;
  progress: number[];
}

async function makeRun(
  inputPath: string,
  contentType: string,
  options: Record<string, unknown> = {},
): Promise<TestRun> {
  const controller = new AbortController();
  const progress: number[] = [];
  const context: ToolRunContext = {
    jobId: 'job_test',
    attempt: 1,
    input: {
      kind: 'file',
      name: 'input-file.bin',
      contentType,
      sizeBytes: (await stat(inputPath)).size,
    },
    inputPath,
    options,
    workDir: await mkdtemp(join(root, 'work-')),
    signal: controller.signal,
    reportProgress: (value) => progress.push(value),
    logger: pino({ level: 'silent' }),
  };
  return { context, controller, progress };
}

async function runError(
  runner: ToolRunner,
  context: ToolRunContext,
): Promise<unknown> {
  return runner.run(context).catch((caught: unknown) => caught);
}

async function ffmpegChildren(): Promise<string> {
  const { stdout } = await execFileAsync('pgrep', [
    '-P',
    String(process.pid),
    'ffmpeg',
  ]).catch(() => ({ stdout: '' }));
  return stdout.trim();
}

interface ProcessStat {
  pid: number;
  name: string;
  state: string;
  parentPid: number;
  processGroup: number;
}

/** Reads a process's name, state, parent and group from /proc. */
async function processStat(pid: number | 'self'): Promise<ProcessStat> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The name is in parentheses and may contain spaces, so split after it.
  const nameEnd = text.lastIndexOf(')');
  const fields = text.slice(nameEnd + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    name: text.slice(text.indexOf('(') + 1, nameEnd),
    state: fields[0] ?? '',
    parentPid: Number(fields[1]),
    processGroup: Number(fields[2]),
  };
}

/**
 * Returns a child of `parentPid` named `name` whose command line contains
 * `argument`. fluent-ffmpeg first runs `ffmpeg -formats` and `-encoders`,
 * so the name alone could match one of those.
 */
async function childRunning(
  parentPid: number,
  name: string,
  argument: string,
): Promise<ProcessStat | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = await processStat(Number(entry)).catch(() => undefined);
    if (found?.parentPid !== parentPid || found.name !== name) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(
      () => '',
    );
    if (commandLine.includes(argument)) return found;
  }
  return undefined;
}

/** Checks whether `pid` has exited. An unreaped zombie counts as exited. */
async function hasExited(pid: number): Promise<boolean> {
  const found = await processStat(pid).catch(() => undefined);
  return found === undefined || found.state === 'Z';
}

/**
 * Makes a FIFO without a writer. ffmpeg and ffprobe block while opening it,
 * so they stay alive until they are killed.
 */
async function blockingInput(name: string): Promise<string> {
  const path = join(root, name);
  await execFileAsync('mkfifo', [path]);
  return path;
}

describe('ffmpeg engine', () => {
  it('reports ffmpeg available', () => {
    expect(ffmpegStatus()).toEqual({ available: true });
  });

  it('probes an MP4', async () => {
    const summary = await probe(clips.mp4, new AbortController().signal);

    expect(summary.formatName).toContain('mp4');
    expect(summary.durationSeconds).toBeCloseTo(4, 1);
    expect(summary.video).toEqual({
      codec: 'h264',
      width: 320,
      height: 240,
      fps: 25,
    });
    expect(summary.audio).toEqual({ codec: 'aac' });
  });

  it('runs ffmpeg in a process group of its own', async () => {
    const input = await blockingInput('blocked-run.mp4');
    const controller = new AbortController();
    const running = runFfmpeg(
      (command) => command.output(join(root, 'blocked-run-output.mp4')),
      {
        inputPath: input,
        signal: controller.signal,
        expectedDurationSeconds: 1,
      },
    ).catch((caught: unknown) => caught);

    const child = await waitFor(
      () => childRunning(process.pid, 'ffmpeg', input),
      {
        timeoutMs: 10_000,
        what: 'ffmpeg to start',
      },
    );
    const own = await processStat('self');
    controller.abort();
    const error = await running;

    expect(child.processGroup).toBe(child.pid);
    expect(child.processGroup).not.toBe(own.processGroup);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(await hasExited(child.pid)).toBe(true);
  });

  it('runs ffprobe in a process group of its own', async () => {
    const input = await blockingInput('blocked-probe.mp4');
    const controller = new AbortController();
    const probing = probe(input, controller.signal).catch(
      (caught: unknown) => caught,
    );

    const child = await waitFor(
      () => childRunning(process.pid, 'ffprobe', input),
      {
        timeoutMs: 10_000,
        what: 'ffprobe to start',
      },
    );
    const own = await processStat('self');
    controller.abort();
    const error = await probing;

    expect(child.processGroup).toBe(child.pid);
    expect(child.processGroup).not.toBe(own.processGroup);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(await hasExited(child.pid)).toBe(true);
  });

  it('kills ffmpeg when the process exits', async () => {
    const input = await blockingInput('blocked-exit.mp4');
    const output = join(root, 'blocked-exit-output.mp4');
    const engine = new URL('../../workers/engines/ffmpeg.ts', import.meta.url)
      .href;
    // Starts ffmpeg on the FIFO, then exits without aborting it.
    const script =
      `import { runFfmpeg } from ${JSON.stringify(engine)};\n` +
      'runFfmpeg((command) => command.output(process.argv[1]), {\n' +
      '  inputPath: process.argv[2],\n' +
      '  signal: new AbortController().signal,\n' +
      '  expectedDurationSeconds: 1,\n' +
      '}).catch(() => undefined);\n' +
      'process.stdin.once("end", () => process.exit(0)).resume();\n';
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, output, input],
      { stdio: ['pipe', 'ignore', 'inherit'] },
    );
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    let killed: boolean;
    try {
      const child = await waitFor(
        () => childRunning(parent.pid!, 'ffmpeg', input),
        {
          timeoutMs: 20_000,
          what: 'ffmpeg to start',
        },
      );
      parent.stdin!.end();
      await exited;
      killed = await waitFor(
        async () => ((await hasExited(child.pid)) ? true : undefined),
        { timeoutMs: 2_000, what: 'ffmpeg to exit' },
      ).catch(() => false);
      if (!killed) process.kill(child.pid, 'SIGKILL');
    } finally {
      if (parent.exitCode === null) parent.kill('SIGKILL');
    }

    expect(killed).toBe(true);
  }, 30_000);
});

describe('trim-video', () => {
  const runner = createTrimVideoRunner();

  it('copies a range of an MP4 with B-frames', async () => {
    const input = await clip('bframes.mp4', {
      container: 'mp4',
      seconds: 6,
      preset: 'medium',
    });
    const { context } = await makeRun(input, 'video/mp4', { start: 0, end: 3 });

    const output = await runner.run(context);

    expect(output.metadata.streamCopy).not.toBe(false);
  });

  it('copies a range of an MP4', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', {
      start: 1,
      end: 3,
    });

    const output = await runner.run(context);
    const result = await probe(output.path, new AbortController().signal);

    expect(output.metadata.streamCopy).toBe(true);
    expect(Math.abs(result.durationSeconds - 2)).toBeLessThanOrEqual(0.2);
    expect(result.video?.codec).toBe('h264');
    expect(result.audio?.codec).toBe('aac');
    expect(output.contentType).toBe('video/mp4');
    expect(output.name).toBe('input-file.mp4');
  });

  it('cuts frame-accurately by duration', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', {
      start: 0.52,
      duration: 1.5,
      frameAccurate: true,
    });

    const output = await runner.run(context);

    expect(output.metadata.streamCopy).toBe(false);
    expect(
      Math.abs(Number(output.metadata.durationSeconds) - 1.5),
    ).toBeLessThanOrEqual(0.2);
    expect(await countFrames(output.path)).toBeGreaterThanOrEqual(36);
    expect(await countFrames(output.path)).toBeLessThanOrEqual(39);
  });

  it('re-encodes WebM to H.264', async () => {
    const { context } = await makeRun(clips.webm, 'video/webm', {
      start: 0.5,
    });

    const output = await runner.run(context);

    expect(output.metadata.videoCodec).toBe('h264');
    expect(output.metadata.audioCodec).toBe('aac');
    expect(
      Math.abs(Number(output.metadata.durationSeconds) - 1.5),
    ).toBeLessThanOrEqual(0.2);
  });

  it.each([
    ['start past the end', { start: 5 }],
    ['end past the end', { start: 0, end: 4.5 }],
    ['end before start', { start: 2, end: 1 }],
    ['duration past the end', { start: 3, duration: 2 }],
    ['end and duration', { start: 0, end: 1, duration: 1 }],
  ])('rejects %s', async (_case, options) => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', options);

    const error = await runError(runner, context);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_options' });
  });
});

describe('compress-video', () => {
  const runner = createCompressVideoRunner();

  it.each(['mp4', 'mov', 'webm'] as const)(
    'compresses %s to H.264 and AAC',
    async (container) => {
      const { context, progress } = await makeRun(
        clips[container],
        CONTENT_TYPES[container],
        { crf: 28 },
      );

      const output = await runner.run(context);
      const result = await probe(output.path, new AbortController().signal);
      const expected = container === 'mp4' ? 4 : 2;

      expect(result.video?.codec).toBe('h264');
      expect(result.audio?.codec).toBe('aac');
      expect(result.video?.width).toBe(320);
      expect(result.video?.height).toBe(240);
      expect(Math.abs(result.durationSeconds - expected)).toBeLessThanOrEqual(
        0.2,
      );
      expect(progress.at(-1)).toBe(100);
      expect(output.metadata.inputBytes).toBe(context.input.sizeBytes);
    },
  );

  it('copies streams when re-encoding grows', async () => {
    const path = await clip('small.mp4', {
      container: 'mp4',
      seconds: 2,
      crf: 45,
    });
    const { context } = await makeRun(path, 'video/mp4', { crf: 18 });

    const output = await runner.run(context);
    const result = await probe(output.path, new AbortController().signal);

    expect(output.metadata.streamCopy).toBe(true);
    expect(output.metadata.note).toContain('copied into the MP4 unchanged');
    expect(output.metadata.outputBytes).toBeLessThan(
      context.input.sizeBytes * 1.05,
    );
    expect(result.video?.codec).toBe('h264');
    expect(result.audio?.codec).toBe('aac');
  });

  it('scales down to maxHeight', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', {
      maxHeight: 144,
    });

    const output = await runner.run(context);

    expect(output.metadata.height).toBe(144);
    expect(output.metadata.width).toBe(192);
  });

  it('rounds odd dimensions to even', async () => {
    const { context } = await makeRun(clips.odd, 'video/mp4');

    const output = await runner.run(context);

    expect(output.metadata.inputWidth).toBe(161);
    expect(output.metadata.inputHeight).toBe(121);
    expect(output.metadata.height).toBe(120);
    expect(Number(output.metadata.width) % 2).toBe(0);
  });

  it('puts the index first', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4');

    const output = await runner.run(context);
    const bytes = await readFile(output.path);

    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
  });
});

describe('video-to-gif', () => {
  const runner = createVideoToGifRunner();

  it('converts a range to a GIF', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', {
      start: 1,
      duration: 2,
      fps: 10,
      width: 160,
    });

    const output = await runner.run(context);
    const result = await probe(output.path, new AbortController().signal, {
      demuxers: ['gif'],
    });
    const frames = await countFrames(output.path);

    expect(result.formatName).toBe('gif');
    expect(result.video?.width).toBe(160);
    expect(result.video?.height).toBe(120);
    expect(Math.abs(result.durationSeconds - 2)).toBeLessThanOrEqual(0.2);
    expect(Math.abs(frames - 20)).toBeLessThanOrEqual(1);
    expect(output.contentType).toBe('image/gif');
  });

  it('stops at the end of the video', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', {
      start: 3,
      duration: 5,
      fps: 10,
      width: 480,
    });

    const output = await runner.run(context);

    expect(output.metadata.width).toBe(320);
    expect(
      Math.abs(Number(output.metadata.durationSeconds) - 1),
    ).toBeLessThanOrEqual(0.2);
  });

  it('rejects start past the end', async () => {
    const { context } = await makeRun(clips.mp4, 'video/mp4', { start: 9 });

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'invalid_options' });
  });
});

describe('mute-video', () => {
  const runner = createMuteVideoRunner();

  it.each(['mp4', 'mov', 'webm'] as const)(
    'removes the audio of %s',
    async (container) => {
      const { context } = await makeRun(
        clips[container],
        CONTENT_TYPES[container],
      );

      const output = await runner.run(context);
      const result = await probe(output.path, new AbortController().signal);

      expect(result.audio).toBeUndefined();
      expect(result.video?.codec).toBe('h264');
      expect(output.metadata.hadAudio).toBe(true);
      expect(output.metadata.streamCopy).toBe(container !== 'webm');
      expect(
        Math.abs(result.durationSeconds - (container === 'mp4' ? 4 : 2)),
      ).toBeLessThanOrEqual(0.2);
    },
  );

  it('accepts a video without audio', async () => {
    const { context } = await makeRun(clips.silentMp4, 'video/mp4');

    const output = await runner.run(context);

    expect(output.metadata.hadAudio).toBe(false);
    expect(output.metadata.audioCodec).toBeNull();
  });
});

describe('video input checks', () => {
  const runner = createMuteVideoRunner();

  it('rejects a truncated MP4', async () => {
    const bytes = await readFile(clips.mp4);
    const path = join(root, 'truncated.mp4');
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects a truncated faststart MP4', async () => {
    // With the index first, ffprobe reads a truncated file without error;
    // only decoding finds the missing frames.
    const faststart = join(root, 'faststart.mp4');
    await execFileAsync('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-y', '-i', clips.mp4],
      ...['-c', 'copy', '-movflags', '+faststart', faststart],
    ]);
    const bytes = await readFile(faststart);
    const path = join(root, 'truncated-faststart.mp4');
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects an MP4 truncated near its end', async () => {
    // The cut lies far past the decoded seconds, so only reading every
    // packet finds it.
    const faststart = join(root, 'long-faststart.mp4');
    await execFileAsync('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-y', '-i', clips.long],
      ...['-c', 'copy', '-movflags', '+faststart', faststart],
    ]);
    const bytes = await readFile(faststart);
    const path = join(root, 'long-truncated.mp4');
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * 0.9)));
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain('not a readable video');
  });

  it('reports the check when the work fails first', async () => {
    // A damaged input often makes the tool's own ffmpeg run fail first,
    // with a less telling error than the input check's.
    const faststart = join(root, 'first-source.mp4');
    await execFileAsync('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-y', '-i', clips.long],
      ...['-c', 'copy', '-movflags', '+faststart', faststart],
    ]);
    const bytes = await readFile(faststart);
    const path = join(root, 'first-truncated.mp4');
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const { context } = await makeRun(path, 'video/mp4');

    const error = await alongsideInputCheck(context, async () => {
      throw new Error('ffmpeg exited without error but wrote no output.');
    }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain('not a readable video');
  });

  it('rejects damaged picture data', async () => {
    // Every packet is still complete, so only decoding finds the damage.
    const faststart = join(root, 'damaged-source.mp4');
    await execFileAsync('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-y', '-i', clips.mp4],
      ...['-c', 'copy', '-movflags', '+faststart', faststart],
    ]);
    const bytes = await readFile(faststart);
    const mediaData = bytes.indexOf('mdat');
    for (let at = mediaData + 2_000; at < mediaData + 30_000; at += 50) {
      bytes[at] = (bytes[at] ?? 0) ^ 0x5a;
    }
    const path = join(root, 'damaged.mp4');
    await writeFile(path, bytes);
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain('not a readable video');
  });

  it('rejects an HLS playlist', async () => {
    // The segment URL is on loopback, and the demuxer whitelist stops the
    // HLS demuxer before any request.
    const path = join(root, 'playlist.mp4');
    await writeFile(
      path,
      '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n' +
        'http://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n',
    );
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects a text file', async () => {
    const path = join(root, 'notes.mp4');
    await writeFile(path, 'plain text, not a video\n');
    const { context } = await makeRun(path, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects an audio-only file', async () => {
    const { context } = await makeRun(clips.audioOnly, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'no_video_stream' });
  });

  it('rejects WebM declared as MP4', async () => {
    const { context } = await makeRun(clips.webm, 'video/mp4');

    const error = await runError(runner, context);

    expect(error).toMatchObject({ code: 'content_type_mismatch' });
  });

  it('accepts QuickTime declared as MP4', async () => {
    const { context } = await makeRun(clips.mov, 'video/mp4');

    const output = await runner.run(context);

    expect(output.metadata.videoCodec).toBe('h264');
  });

  it('rejects a video over maxDurationSeconds', async () => {
    const limited = createMuteVideoRunner({
      limits: { maxDurationSeconds: 3 },
    });
    const { context } = await makeRun(clips.mp4, 'video/mp4');

    const error = await runError(limited, context);

    expect(error).toMatchObject({ code: 'duration_limit_exceeded' });
  });

  it('rejects a video over maxHeight', async () => {
    const limited = createMuteVideoRunner({ limits: { maxHeight: 200 } });
    const { context } = await makeRun(clips.mp4, 'video/mp4');

    const error = await runError(limited, context);

    expect(error).toMatchObject({ code: 'resolution_limit_exceeded' });
  });
});

describe('video abort', () => {
  it('kills ffmpeg at once', async () => {
    const runner = createCompressVideoRunner();
    const { context, controller, progress } = await makeRun(
      clips.long,
      'video/mp4',
      { crf: 28 },
    );
    const running = runner.run(context).catch((caught: unknown) => caught);

    // Abort once the encode reports progress, so ffmpeg is surely running.
    const deadline = Date.now() + 20_000;
    while (!progress.some((value) => value > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await ffmpegChildren()).not.toBe('');
    const abortedAt = Date.now();
    controller.abort();
    const error = await running;
    const elapsedMs = Date.now() - abortedAt;

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(elapsedMs).toBeLessThan(1_000);
    expect(progress.at(-1)).toBeLessThan(100);
    expect(await ffmpegChildren()).toBe('');
  });
});
