import type { z } from 'zod';
import { trimVideoOptions } from '../../domain/catalog.ts';
import {
  InvalidInputError,
  parseToolOptions,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';
import {
  DURATION_TOLERANCE_SECONDS,
  H264_OUTPUT_OPTIONS,
  MP4_OUTPUT_OPTIONS,
  encodeToMp4,
  around,
  copyableToMp4,
  probeVideoInput,
  resolveLimits,
  type ExpectedDuration,
  type VideoRunnerSettings,
} from './video.ts';

/** How far a stream-copied container may end past the requested stop. */
const COPY_OVERRUN_SECONDS = 0.5;

const SLUG = 'trim-video';

/** Constant rate factor of re-encoded trims: low, to stay close to the input. */
const REENCODE_CRF = 18;

type TrimOptions = z.output<typeof trimVideoOptions>;

function invalidOptions(message: string): InvalidInputError {
  return new InvalidInputError(message, 'invalid_options');
}

/**
 * Checks the range against the input's duration and returns its end. The
 * catalog schema has already checked the options against each other.
 */
function rangeEnd(options: TrimOptions, inputSeconds: number): number {
  const { start, end, duration } = options;
  const limit = inputSeconds + DURATION_TOLERANCE_SECONDS;
  if (start >= inputSeconds) {
    throw invalidOptions(
      `start is ${start} s but the video is only ${inputSeconds} s long. ` +
        'Set a start within the video.',
    );
  }
  if (end !== undefined && end > limit) {
    throw invalidOptions(
      `end is ${end} s but the video is only ${inputSeconds} s long. Set ` +
        'an end within the video.',
    );
  }
  if (duration !== undefined && start + duration > limit) {
    throw invalidOptions(
      `start (${start} s) plus duration (${duration} s) ends after the ` +
        `video's ${inputSeconds} s. Set a shorter duration.`,
    );
  }
  const stop = end ?? (duration === undefined ? undefined : start + duration);
  return Math.min(stop ?? inputSeconds, inputSeconds);
}

/**
 * Creates the `trim-video` tool: the range from `start` to `end` (or for
 * `duration`) as MP4. H.264, HEVC, MPEG-4 and AV1 video is stream-copied
 * unless `frameAccurate` is set, so the cut starts on the keyframe at or
 * before `start` and the output may run longer. Other codecs (WebM's VP8
 * and VP9) are re-encoded as H.264. Audio without an MP4 codec becomes AAC.
 */
export function createTrimVideoRunner(
  settings: VideoRunnerSettings = {},
): ToolRunner {
  const limits = resolveLimits(SLUG, settings);

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const options = parseToolOptions(trimVideoOptions, context.options);
    const input = await probeVideoInput(context, limits);
    const stop = rangeEnd(options, input.durationSeconds);
    const length = stop - options.start;

    const copyable = copyableToMp4(input);
    const copyVideo = copyable.video && !options.frameAccurate;
    // A copy starts at a keyframe before `start`, so it may run longer. Its
    // container can also end a little past `stop`: B-frame reordering and
    // audio priming made a 3 s copy of an x264 clip 3.24 s long (measured).
    const expected: ExpectedDuration = copyVideo
      ? {
          min: length - DURATION_TOLERANCE_SECONDS,
          max: stop + COPY_OVERRUN_SECONDS,
        }
      : around(length);

    return encodeToMp4(context, input, {
      outputOptions: [
        '-map',
        '0:v:0',
        '-map',
        '0:a:0?',
        '-t',
        String(length),
        ...(copyVideo
          ? ['-c:v', 'copy', '-avoid_negative_ts', 'make_zero']
          : [...H264_OUTPUT_OPTIONS, '-crf', String(REENCODE_CRF)]),
        ...(copyable.audio ? ['-c:a', 'copy'] : ['-c:a', 'aac']),
        ...MP4_OUTPUT_OPTIONS,
      ],
      inputOptions: ['-ss', String(options.start)],
      expectedDurationSeconds: length,
      expected,
      metadata: {
        start: options.start,
        end: stop,
        streamCopy: copyVideo,
      },
    });
  }

  return { slug: SLUG, run };
}
