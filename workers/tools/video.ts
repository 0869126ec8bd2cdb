import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toolLimit } from '../../domain/catalog.ts';
import {
  checkInputIntegrity,
  probe,
  runFfmpeg,
  type MediaProbe,
} from '../engines/ffmpeg.ts';
import {
  outputName,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
} from '../tool.ts';

/** Limits of a video tool, from the catalog unless a test overrides them. */
export interface VideoLimits {
  maxDurationSeconds: number;
  maxHeight: number;
}

/** Settings shared by the video tool factories. */
export interface VideoRunnerSettings {
  /** Overrides the catalog's limits, so tests can use small ones. */
  limits?: Partial<VideoLimits>;
}

/** Output durations may differ from the expected one by this much. */
export const DURATION_TOLERANCE_SECONDS = 0.2;

/** Video codecs that an MP4 output takes by stream copy. */
const MP4_VIDEO_CODECS: readonly string[] = ['h264', 'hevc', 'mpeg4', 'av1'];

/** Audio codecs that an MP4 output takes by stream copy. */
const MP4_AUDIO_CODECS: readonly string[] = ['aac', 'mp3', 'alac'];

/** Video encoder settings of every H.264 output. */
export const H264_OUTPUT_OPTIONS: readonly string[] = [
  '-c:v',
  'libx264',
  '-pix_fmt',
  'yuv420p',
  // NOTE: chosen so that a 1-hour input can finish within the catalog's
  // deadline. That is an estimate, not measured on long 2160p inputs.
  '-preset',
  'veryfast',
];

/** Output options every MP4 gets: the index first, for progressive playback. */
export const MP4_OUTPUT_OPTIONS: readonly string[] = [
  '-movflags',
  '+faststart',
  '-f',
  'mp4',
];

export function resolveLimits(
  slug: string,
  settings: VideoRunnerSettings,
): VideoLimits {
  return {
    maxDurationSeconds:
      settings.limits?.maxDurationSeconds ??
      toolLimit(slug, 'maxDurationSeconds'),
    maxHeight: settings.limits?.maxHeight ?? toolLimit(slug, 'maxHeight'),
  };
}

/** Checks whether ffprobe's demuxer name fits the declared content type. */
function containerMatches(formatName: string, contentType: string): boolean {
  const demuxers = formatName.split(',');
  switch (contentType) {
    // One demuxer reads both, and each container is often labelled as the
    // other, so they accept each other.
    case 'video/mp4':
    case 'video/quicktime':
      return demuxers.includes('mp4') || demuxers.includes('mov');
    case 'video/webm':
      // NOTE: the demuxer does not tell WebM from other Matroska files, so a
      // Matroska file sent as video/webm is accepted.
      return demuxers.includes('webm');
    default:
      return false;
  }
}

function formatSeconds(seconds: number): string {
  return `${Math.round(seconds * 100) / 100} s`;
}

/**
 * Probes the input and rejects it when its container is not the declared
 * content type (`content_type_mismatch`), it runs longer than
 * `maxDurationSeconds` (`duration_limit_exceeded`) or its picture is taller
 * than `maxHeight` (`resolution_limit_exceeded`).
 */
export async function probeVideoInput(
  context: ToolRunContext,
  limits: VideoLimits,
): Promise<MediaProbe & { video: NonNullable<MediaProbe['video']> }> {
  const input = await probe(context.inputPath, context.signal);
  const contentType = context.input.contentType;
  if (!containerMatches(input.formatName, contentType)) {
    throw new InvalidInputError(
      `The file is a ${input.formatName} container but was declared as ` +
        `${contentType}. Declare its real content type.`,
      'content_type_mismatch',
    );
  }
  if (input.durationSeconds > limits.maxDurationSeconds) {
    throw new InvalidInputError(
      `The video is ${formatSeconds(input.durationSeconds)} long, more than ` +
        `the limit of ${formatSeconds(limits.maxDurationSeconds)}. ` +
        'Trim it before uploading.',
      'duration_limit_exceeded',
    );
  }

  const { video } = input;
  if (video === undefined) {
    // probe() rejects a file without video, so this only narrows the type.
    throw new Error('probe() returned no video stream.');
  }
  if (video.height > limits.maxHeight) {
    throw new InvalidInputError(
      `The video is ${video.width} x ${video.height} pixels, taller than ` +
        `the limit of ${limits.maxHeight} pixels. Scale it down first.`,
      'resolution_limit_exceeded',
    );
  }
  return { ...input, video };
}

/** Reports which input streams an MP4 output takes without re-encoding. */
export function copyableToMp4(input: MediaProbe): {
  video: boolean;
  audio: boolean;
} {
  return {
    video: MP4_VIDEO_CODECS.includes(input.video?.codec ?? ''),
    audio: MP4_AUDIO_CODECS.includes(input.audio?.codec ?? ''),
  };
}

/** The range of output durations that counts as a correct run, in seconds. */
export interface ExpectedDuration {
  min: number;
  max: number;
}

/**
 * Runs `work` while {@link checkInputIntegrity} checks the job's input beside
 * it, and returns the result of `work` once both succeeded. A failed check
 * aborts `work` through the signal it gets, and its error is the one thrown,
 * also when `work` failed first.
 */
export async function alongsideInputCheck<T>(
  context: ToolRunContext,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const signal = AbortSignal.any([context.signal, stop.signal]);
  const checked = checkInputIntegrity(context.inputPath, signal).catch(
    (error: unknown) => {
      stop.abort(error);
      throw error;
    },
  );
  try {
    const [result] = await Promise.all([work(signal), checked]);
    return result;
  } catch (error) {
    context.signal.throwIfAborted();
    if (stop.signal.aborted) {
      throw stop.signal.reason;
    }
    // A damaged input often makes `work` fail first, with a less telling
    // error, so the check's verdict is awaited before `work`'s error counts.
    await checked.catch(() => undefined);
    if (stop.signal.aborted) {
      throw stop.signal.reason;
    }
    throw error;
  }
}

/**
 * Probes an output, because ffmpeg can exit 0 and write an empty or short
 * file. It throws when the file is missing or empty or has no video stream,
 * and InvalidInputError when it is shorter or longer than `expected`, which
 * a truncated input causes.
 */
export async function verifyOutput(
  path: string,
  demuxer: string,
  expected: ExpectedDuration,
  signal: AbortSignal,
): Promise<{ probe: MediaProbe; bytes: number }> {
  const bytes = await stat(path).then(
    (stats) => stats.size,
    () => 0,
  );
  if (bytes === 0) {
    throw new Error('ffmpeg exited without error but wrote no output.');
  }

  const output = await probe(path, signal, {
    demuxers: [demuxer],
    allowNoVideo: true,
  });
  if (output.video === undefined) {
    throw new Error('ffmpeg wrote an output without a video stream.');
  }
  const duration = output.durationSeconds;
  if (duration < expected.min || duration > expected.max) {
    throw new InvalidInputError(
      `The output is ${formatSeconds(duration)} long, expected between ` +
        `${formatSeconds(expected.min)} and ${formatSeconds(expected.max)}. ` +
        'The input may be truncated or corrupt.',
    );
  }
  return { probe: output, bytes };
}

/** Returns the range within the shared tolerance around `seconds`. */
export function around(seconds: number): ExpectedDuration {
  return {
    min: seconds - DURATION_TOLERANCE_SECONDS,
    max: seconds + DURATION_TOLERANCE_SECONDS,
  };
}

/** Metadata every video tool reports about its input and output. */
export function videoMetadata(
  input: MediaProbe,
  output: MediaProbe,
  inputBytes: number,
  outputBytes: number,
): Record<string, unknown> {
  return {
    durationSeconds: output.durationSeconds,
    width: output.video?.width,
    height: output.video?.height,
    videoCodec: output.video?.codec,
    audioCodec: output.audio?.codec ?? null,
    inputDurationSeconds: input.durationSeconds,
    inputWidth: input.video?.width,
    inputHeight: input.video?.height,
    inputVideoCodec: input.video?.codec,
    inputAudioCodec: input.audio?.codec ?? null,
    inputBytes,
    outputBytes,
  };
}

/** Settings for encoding one job's input to an MP4 in its work directory. */
export interface Mp4Encoding {
  outputOptions: string[];
  /** File name in the work directory (default `output.mp4`). */
  outputName?: string;
  inputOptions?: string[];
  /** Duration of the output that progress is measured against. */
  expectedDurationSeconds: number;
  /** Range the output's duration must fall in. */
  expected: ExpectedDuration;
  /** Tool-specific metadata, added to the shared video metadata. */
  metadata: Record<string, unknown>;
  /** Whether an earlier run of this attempt already checked the input. */
  inputChecked?: boolean;
}

/**
 * Runs ffmpeg from the job's input to `outputName` in its work directory
 * while the input's integrity check runs (unless `inputChecked`), checks the
 * output by probing it, and returns it as the tool's output.
 */
export async function encodeToMp4(
  context: ToolRunContext,
  input: MediaProbe,
  encoding: Mp4Encoding,
): Promise<ToolOutput> {
  const outputPath = join(context.workDir, encoding.outputName ?? 'output.mp4');
  const encode = async (signal: AbortSignal) => {
    await runFfmpeg(
      (command) => {
        command.outputOptions(encoding.outputOptions);
        command.output(outputPath);
      },
      {
        inputPath: context.inputPath,
        inputOptions: encoding.inputOptions,
        signal,
        expectedDurationSeconds: encoding.expectedDurationSeconds,
        onProgress: (percent) => context.reportProgress(percent),
      },
    );
    return verifyOutput(outputPath, 'mov', encoding.expected, signal);
  };
  const output = encoding.inputChecked
    ? await encode(context.signal)
    : await alongsideInputCheck(context, encode);
  const inputBytes = (await stat(context.inputPath)).size;
  return {
    path: outputPath,
    name: outputName(context.input.name, '.mp4', 'video'),
    contentType: 'video/mp4',
    metadata: {
      ...videoMetadata(input, output.probe, inputBytes, output.bytes),
      ...encoding.metadata,
    },
  };
}
