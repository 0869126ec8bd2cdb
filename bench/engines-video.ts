import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { makeVideo } from '../test/fixtures/make-video.ts';
import type { ToolRunner } from '../workers/tool.ts';
import { createCompressVideoRunner } from '../workers/tools/video-compress.ts';
import { createVideoToGifRunner } from '../workers/tools/video-gif.ts';
import { createMuteVideoRunner } from '../workers/tools/video-mute.ts';
import { createTrimVideoRunner } from '../workers/tools/video-trim.ts';
import type { ApiClient } from './client.ts';
import { median, round, timeMs } from './stats.ts';
import {
  compareAlternating,
  runJob,
  summarizeJobPhases,
  timeCommand,
  type EngineComparison,
  type JobRun,
} from './engines-common.ts';

/** Settings of the video benchmarks. */
export interface VideoBenchOptions {
  seconds: number;
  width: number;
  height: number;
  warmupRuns: number;
  measuredRuns: number;
  pollIntervalMs: number;
}

/** One video tool, its job options and the bare ffmpeg output arguments. */
interface VideoCase {
  slug: string;
  /** The tool's runner, timed alone on the local clip. */
  runner: ToolRunner;
  options: Record<string, unknown>;
  /** ffmpeg options placed before `-i`. */
  inputArgs: string[];
  /** ffmpeg output options, as the tool builds them for this input. */
  outputArgs: string[];
  extension: string;
}

const MP4_OUTPUT = ['-movflags', '+faststart', '-f', 'mp4'];
const H264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'veryfast'];

/**
 * The ffmpeg arguments below mirror `workers/tools/video-*.ts` for an H.264
 * and AAC input of even size, with the options given here. Keep them in
 * step when a tool's arguments change.
 */
const CASES: VideoCase[] = [
  {
    // A stream copy, because the input is H.264 and AAC.
    slug: 'trim-video',
    runner: createTrimVideoRunner(),
    options: { start: 10, duration: 30 },
    inputArgs: ['-ss', '10'],
    outputArgs: [
      ...['-map', '0:v:0', '-map', '0:a:0?', '-t', '30'],
      ...['-c:v', 'copy', '-avoid_negative_ts', 'make_zero', '-c:a', 'copy'],
      ...MP4_OUTPUT,
    ],
    extension: 'mp4',
  },
  {
    // Default crf 28 and no maxHeight, so no scale filter.
    slug: 'compress-video',
    runner: createCompressVideoRunner(),
    options: {},
    inputArgs: [],
    outputArgs: [
      ...['-map', '0:v:0', '-map', '0:a:0?', ...H264, '-crf', '28'],
      ...['-c:a', 'aac', '-b:a', '128k', ...MP4_OUTPUT],
    ],
    extension: 'mp4',
  },
  {
    // Defaults: 5 s from 0 at 10 frames per second, 480 pixels wide.
    slug: 'video-to-gif',
    runner: createVideoToGifRunner(),
    options: {},
    inputArgs: ['-ss', '0'],
    outputArgs: [
      ...['-t', '5', '-filter_complex'],
      '[0:v:0]fps=10,scale=480:-1:flags=lanczos,split[frames][copy];' +
        '[copy]palettegen[palette];[frames][palette]paletteuse[gif]',
      ...['-map', '[gif]', '-loop', '0', '-f', 'gif'],
    ],
    extension: 'gif',
  },
  {
    slug: 'mute-video',
    runner: createMuteVideoRunner(),
    options: {},
    inputArgs: [],
    outputArgs: ['-map', '0:v:0', '-an', '-c:v', 'copy', ...MP4_OUTPUT],
    extension: 'mp4',
  },
];

/**
 * Times the input check of every video tool as bare commands: ffprobe,
 * then, side by side, a strict read of every packet and a strict decode of
 * the first 2 seconds (`probe` and `checkInputIntegrity` in
 * `workers/engines/ffmpeg.ts`). The tools run the last two beside their own
 * ffmpeg command. Returns the median of `runs`.
 */
async function medianInputCheckMs(
  clipPath: string,
  runs: number,
): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const probeMs = await timeCommand('ffprobe', [
      ...['-v', 'error', '-print_format', 'json'],
      ...['-show_format', '-show_streams', clipPath],
    ]);
    const strict = ['-nostdin', '-v', 'error', '-xerror'];
    const checkMs = await timeMs(() =>
      Promise.all([
        timeCommand('ffmpeg', [
          ...[...strict, '-i', clipPath],
          ...['-map', '0', '-c', 'copy', '-f', 'null', '-'],
        ]),
        timeCommand('ffmpeg', [
          ...[...strict, '-t', '2', '-i', clipPath],
          ...['-f', 'null', '-'],
        ]),
      ]),
    );
    samples.push(probeMs + checkMs);
  }
  return round(median(samples));
}

/**
 * Times `runner` on the local clip, as a worker runs it after fetching the
 * input: input probe and check, ffmpeg, output probe. It stores nothing.
 */
async function timeVideoRunner(
  runner: ToolRunner,
  clipPath: string,
  sizeBytes: number,
  workRoot: string,
  options: Record<string, unknown>,
): Promise<number> {
  const workDir = await mkdtemp(join(workRoot, 'runner-'));
  try {
    return await timeMs(() =>
      runner.run({
        jobId: 'job_bench',
        attempt: 1,
        input: {
          kind: 'file',
          name: 'clip.mp4',
          contentType: 'video/mp4',
          sizeBytes,
        },
        inputPath: clipPath,
        options,
        workDir,
        signal: new AbortController().signal,
        reportProgress: () => undefined,
        logger: pino({ level: 'silent' }),
      }),
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Times each video tool as a whole job (upload of the clip included)
 * against the bare ffmpeg command that does the same encode or copy on the
 * same clip, and after each measured job its runner alone. The clip is
 * generated once.
 */
export async function benchmarkVideoTools(
  client: ApiClient,
  workDir: string,
  options: VideoBenchOptions,
): Promise<EngineComparison[]> {
  const clipPath = join(workDir, 'clip.mp4');
  await makeVideo(clipPath, {
    container: 'mp4',
    seconds: options.seconds,
    width: options.width,
    height: options.height,
  });
  const bytes = await readFile(clipPath);
  const input = {
    kind: 'file' as const,
    name: 'clip.mp4',
    contentType: 'video/mp4',
    bytes,
  };

  const inputCheckMs = await medianInputCheckMs(clipPath, 3);
  const comparisons: EngineComparison[] = [];
  for (const videoCase of CASES) {
    const outPath = join(workDir, `ffmpeg-output.${videoCase.extension}`);
    const args = [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...videoCase.inputArgs,
      ...['-i', clipPath, ...videoCase.outputArgs, outPath],
    ];
    const jobRuns: JobRun[] = [];
    const runnerSamples: number[] = [];
    const comparison = await compareAlternating({
      name: `${videoCase.slug}, ${options.seconds} s ${options.width}x${options.height}`,
      subject: 'whole job: create, upload, poll, download',
      baseline: [
        'ffmpeg',
        ...videoCase.inputArgs,
        ...['-i', 'in.mp4', ...videoCase.outputArgs],
        `out.${videoCase.extension}`,
      ].join(' '),
      target: { maxRatio: 1.05, label: 'within 1.05x' },
      warmupRuns: options.warmupRuns,
      measuredRuns: options.measuredRuns,
      runService: async (run) => {
        const job = await runJob(
          client,
          videoCase.slug,
          input,
          videoCase.options,
          options.pollIntervalMs,
        );
        if (run >= options.warmupRuns) {
          jobRuns.push(job);
          runnerSamples.push(
            await timeVideoRunner(
              videoCase.runner,
              clipPath,
              bytes.length,
              workDir,
              videoCase.options,
            ),
          );
        }
        return job.ms;
      },
      runDirect: async () => {
        const ms = await timeCommand('ffmpeg', args);
        await rm(outPath);
        return ms;
      },
    });
    comparison.details = {
      inputBytes: bytes.length,
      options: videoCase.options,
      apiOutputBytes: jobRuns[0]!.output.length,
      apiPhases: summarizeJobPhases(jobRuns),
      inputCheckMs,
      runnerMedianMs: round(median(runnerSamples)),
      runnerRatio: round(median(runnerSamples) / comparison.direct.medianMs),
    };
    comparisons.push(comparison);
  }
  return comparisons;
}
