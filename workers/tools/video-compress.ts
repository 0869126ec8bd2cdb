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
 * Reports whether the input's streams could be the tool's output as they
 * are: H.264 video that needs no scaling and AAC audio or none.
 */
function fitsOutputAsIs(
  input: Awaited<ReturnType<typeof probeVideoInput>>,
  filter: string | undefined,
): boolean {
  const audio = input.audio?.codec ?? 'aac';
  return input.video.codec === 'h264' && audio === 'aac' && !filter;
}

/**
 * Creates the `compress-video` tool: re-encodes the first video and audio
 * streams as H.264 (`crf`) and AAC in an MP4 with its index first, scaled
 * down to `maxHeight` when the input is taller. It never scales up. When
 * the re-encoded file is larger than the input and the input's streams
 * already fit the output, it copies them into the MP4 instead
 * (`streamCopy: true`), whichever file is smaller.
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

    const encoded = await encodeToMp4(context, input, {
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
      metadata: { crf: options.crf, streamCopy: false },
    });
    const inputBytes = Number(encoded.metadata.inputBytes);
    const encodedBytes = Number(encoded.metadata.outputBytes);
    if (encodedBytes < inputBytes) {
      return encoded;
    }

    const note =
      `Re-encoding at crf ${options.crf} made ${encodedBytes} bytes from ` +
      `${inputBytes}, so the input is compressed more already.`;
    if (!fitsOutputAsIs(input, filter)) {
      encoded.metadata.note = `${note} Raise crf for a smaller file.`;
      return encoded;
    }
    const copied = await encodeToMp4(context, input, {
      outputOptions: [
        ...['-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy'],
        ...MP4_OUTPUT_OPTIONS,
      ],
      outputName: 'copied.mp4',
      inputChecked: true,
      expectedDurationSeconds: input.durationSeconds,
      expected: around(input.durationSeconds),
      metadata: { crf: options.crf, streamCopy: true },
    });
    const copiedBytes = Number(copied.metadata.outputBytes);
    const smaller = copiedBytes < encodedBytes ? copied : encoded;
    smaller.metadata.note =
      smaller === copied
        ? `${note} Its streams are copied into the MP4 unchanged.`
        : `${note} Raise crf for a smaller file.`;
    return smaller;
  }

  return { slug: SLUG, run };
}
