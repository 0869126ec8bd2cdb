import type { ToolOutput, ToolRunContext, ToolRunner } from '../tool.ts';
import {
  H264_OUTPUT_OPTIONS,
  MP4_OUTPUT_OPTIONS,
  encodeToMp4,
  around,
  copyableToMp4,
  probeVideoInput,
  resolveLimits,
  type VideoRunnerSettings,
} from './video.ts';

const SLUG = 'mute-video';

/** Constant rate factor of re-encoded video: low, to stay close to the input. */
const REENCODE_CRF = 18;

/**
 * Creates the `mute-video` tool: the first video stream as MP4 without
 * audio. H.264, HEVC, MPEG-4 and AV1 are stream-copied. Other codecs (WebM's
 * VP8 and VP9) are re-encoded as H.264, because the output is MP4. An input
 * without audio succeeds with `hadAudio: false`.
 */
export function createMuteVideoRunner(
  settings: VideoRunnerSettings = {},
): ToolRunner {
  const limits = resolveLimits(SLUG, settings);

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const input = await probeVideoInput(context, limits);
    const copyVideo = copyableToMp4(input).video;

    return encodeToMp4(context, input, {
      outputOptions: [
        '-map',
        '0:v:0',
        '-an',
        ...(copyVideo
          ? ['-c:v', 'copy']
          : [...H264_OUTPUT_OPTIONS, '-crf', String(REENCODE_CRF)]),
        ...MP4_OUTPUT_OPTIONS,
      ],
      expectedDurationSeconds: input.durationSeconds,
      expected: around(input.durationSeconds),
      metadata: {
        hadAudio: input.audio !== undefined,
        streamCopy: copyVideo,
      },
    });
  }

  return { slug: SLUG, run };
}
