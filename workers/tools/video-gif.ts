import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { videoToGifOptions } from '../../domain/catalog.ts';
import { runFfmpeg } from '../engines/ffmpeg.ts';
import {
  outputName,
  parseToolOptions,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';
import {
  around,
  alongsideInputCheck,
  probeVideoInput,
  resolveLimits,
  verifyOutput,
  videoMetadata,
  type VideoRunnerSettings,
} from './video.ts';

const SLUG = 'video-to-gif';

/**
 * Builds the filter graph. In one pass it computes a 256-colour palette from
 * the clip's own frames and maps the frames onto it, instead of GIF's fixed
 * default palette.
 */
function gifFilter(fps: number, width: number): string {
  return [
    `[0:v:0]fps=${fps},scale=${width}:-1:flags=lanczos,split[frames][copy]`,
    '[copy]palettegen[palette]',
    '[frames][palette]paletteuse[gif]',
  ].join(';');
}

/**
 * Creates the `video-to-gif` tool: up to 15 seconds from `start` as an
 * animated GIF at `fps` frames per second, `width` pixels wide or the
 * input's width when that is smaller, looping forever. A range running past
 * the end of the video stops at the end.
 */
export function createVideoToGifRunner(
  settings: VideoRunnerSettings = {},
): ToolRunner {
  const limits = resolveLimits(SLUG, settings);

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const options = parseToolOptions(videoToGifOptions, context.options);
    const input = await probeVideoInput(context, limits);
    if (options.start >= input.durationSeconds) {
      throw new InvalidInputError(
        `start is ${options.start} s but the video is ` +
          `only ${input.durationSeconds} s long. Set a start within the video.`,
        'invalid_options',
      );
    }
    const length = Math.min(
      options.duration,
      input.durationSeconds - options.start,
    );
    const width = Math.min(options.width, input.video.width);

    const outputPath = join(context.workDir, 'output.gif');
    const output = await alongsideInputCheck(context, async (signal) => {
      await runFfmpeg(
        (command) => {
          command.outputOptions([
            '-t',
            String(length),
            '-filter_complex',
            gifFilter(options.fps, width),
            '-map',
            '[gif]',
            '-loop',
            '0',
            '-f',
            'gif',
          ]);
          command.output(outputPath);
        },
        {
          inputPath: context.inputPath,
          inputOptions: ['-ss', String(options.start)],
          signal,
          expectedDurationSeconds: length,
          onProgress: (percent) => context.reportProgress(percent),
        },
      );
      return verifyOutput(outputPath, 'gif', around(length), signal);
    });
    return {
      path: outputPath,
      name: outputName(context.input.name, '.gif', 'video'),
      contentType: 'image/gif',
      metadata: {
        ...videoMetadata(
          input,
          output.probe,
          (await stat(context.inputPath)).size,
          output.bytes,
        ),
        start: options.start,
        fps: options.fps,
      },
    };
  }

  return { slug: SLUG, run };
}
