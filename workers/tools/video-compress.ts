import { compressVideoOptions } from '../../domain/catalog.ts';
import {
  parseToolOptions,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';
import {
  H264_OUTPUT_OPTIONS,
  MP4_OUTPUT_OPTIONS,
  encodeToMp4,
  around,
  probeVideoInput,
  resolveLimits,
  type VideoRunnerSettings,
} from './video.ts';

const SLUG = 'compress-video';

const AUDIO_BITRATE = '128k';

function evenFloor(value: number): number {
  return Math.floor(value / 2) * 2;
}

/**
 * Returns the scale filter for the output, or undefined when the input fits
 * as it is. H.264 in 4:2:0 needs even dimensions, so odd ones are rounded
 * down, and `-2` keeps the aspect ratio with an even width.
 */
function scaleFilter(
  width: number,
  height: number,
  maxHeight: number | undefined,
): string | undefined {
  const targetHeight = evenFloor(Math.min(height, maxHeight ?? height));
  if (targetHeight === height && width % 2 === 0) {
    return undefined;
  }
  return `scale=-2:${targetHeight}`;
}

/**
 * Creates the `compress-video` tool: re-encodes the first video and audio
 * streams as H.264 (`crf`) and AAC in an MP4 with its index first, scaled
 * down to `maxHeight` when the input is taller. It never scales up.
 */
export function createCompressVideoRunner(
  settings: VideoRunnerSettings = {},
): ToolRunner {
  const limits = resolveLimits(SLUG, settings);

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const options = parseToolOptions(compressVideoOptions, context.options);
    const input = await probeVideoInput(context, limits);
    const filter = scaleFilter(
      input.video.width,
      input.video.height,
      options.maxHeight,
    );

    return encodeToMp4(context, input, {
      outputOptions: [
        '-map',
        '0:v:0',
        '-map',
        '0:a:0?',
        ...(filter === undefined ? [] : ['-vf', filter]),
        ...H264_OUTPUT_OPTIONS,
        '-crf',
        String(options.crf),
        '-c:a',
        'aac',
        '-b:a',
        AUDIO_BITRATE,
        ...MP4_OUTPUT_OPTIONS,
      ],
      expectedDurationSeconds: input.durationSeconds,
      expected: around(input.durationSeconds),
      metadata: {
        crf: options.crf,
      },
    });
  }

  return { slug: SLUG, run };
}
