import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metadata } from 'sharp';
import { toolLimit, imageCompressOptions } from '../../domain/catalog.ts';
import {
  outputName,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'image-compress-api';

type SharpFunction = (typeof import('sharp'))['default'];

const PIXEL_LIMIT_MESSAGE = 'exceeds pixel limit';

/** Formats of the catalog's input content types, as sharp names them. */
const ACCEPTED_FORMATS: readonly string[] = ['png', 'jpeg', 'webp'];

/**
 * Joins the lines of a sharp error message into one line, leaving out each
 * line that ends an earlier one, and drops trailing punctuation. sharp 0.35
 * repeats libvips lines, as in "Input file has corrupt header: VipsJpeg:
 * premature end of JPEG image" followed by "VipsJpeg: premature end of JPEG
 * image", and reports a cut PNG as "Input file has corrupt header:".
 */
function sharpMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines: string[] = [];
  for (const line of message.split('\n').map((text) => text.trim())) {
    if (line !== '' && !lines.some((earlier) => earlier.endsWith(line))) {
      lines.push(line);
    }
  }
  return lines.join('; ').replace(/[\s:;,.]+$/, '');
}

function formatPixels(count: number): string {
  return count.toLocaleString('en-US');
}

function pixelLimitError(
  width: number,
  height: number,
  maxPixels: number,
): InvalidInputError {
  return new InvalidInputError(
    `The image is ${width} x ${height} = ${formatPixels(width * height)} ` +
      `pixels, more than the limit of ${formatPixels(maxPixels)} pixels. ` +
      'Scale it down before uploading.',
    'pixel_limit_exceeded',
  );
}

/**
 * Reads the image header without decoding pixels, and rejects an unreadable
 * file or one above `maxPixels`. The pixel check runs here, on the declared
 * size, so that a decompression bomb never reaches the decoder.
 */
async function readHeader(
  sharp: SharpFunction,
  inputPath: string,
  maxPixels: number,
): Promise<Metadata> {
  let header: Metadata;
  try {
    // This read has no pixel limit because sharp would reject the file
    // without reporting its size. Reading the header decodes no pixels.
    header = await sharp(inputPath, { limitInputPixels: false }).metadata();
  } catch (error) {
    const detail = sharpMessage(error);
    if (detail.startsWith('Input file is missing')) {
      throw error;
    }
    throw new InvalidInputError(
      `The file is not a readable PNG, JPEG or WebP image (${detail}). ` +
        'Upload the whole file, or export it again as PNG, JPEG or WebP.',
    );
  }

  if (!ACCEPTED_FORMATS.includes(header.format)) {
    throw new InvalidInputError(
      `The file is a ${header.format} image. Send a PNG, JPEG or WebP image.`,
    );
  }
  if (header.width * header.height > maxPixels) {
    throw pixelLimitError(header.width, header.height, maxPixels);
  }
  return header;
}

/**
 * Maps a failure of the decode and encode pipeline. Errors writing the output
 * stay as they are, so the attempt can be retried. Any other error means that
 * an input with a valid header failed to decode, a truncated file for example.
 */
function pipelineError(
  error: unknown,
  header: Metadata,
  maxPixels: number,
): unknown {
  if (!(error instanceof Error)) {
    return error;
  }
  if (error.message.includes(PIXEL_LIMIT_MESSAGE)) {
    return pixelLimitError(header.width, header.height, maxPixels);
  }
  if (/unable to open for write|write error|no space/i.test(error.message)) {
    return error;
  }
  return new InvalidInputError(
    `The image could not be decoded (${sharpMessage(error)}). The file may ` +
      'be truncated or corrupt. Upload the whole file, or export it again.',
  );
}

/**
 * Creates the `image-compress-api` tool: re-encodes an image as an sRGB JPEG
 * with EXIF orientation applied, metadata stripped and transparency flattened
 * onto `background`. It fails with `pixel_limit_exceeded` above the catalog's
 * `maxPixels` and `invalid_input` for a file sharp cannot read.
 */
export function createImageCompressRunner(): ToolRunner {
  const maxPixels = toolLimit(SLUG, 'maxPixels');

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const options = imageCompressOptions.parse(context.options);
    context.signal.throwIfAborted();

    // Loaded on first use so that a missing native binary fails this tool
    // and not the whole worker process.
    const { default: sharp } = await import('sharp');
    const header = await readHeader(sharp, context.inputPath, maxPixels);
    context.signal.throwIfAborted();

    const resize =
      options.maxWidth !== undefined || options.maxHeight !== undefined;
    let pipeline = sharp(context.inputPath, { limitInputPixels: maxPixels })
      .rotate()
      .flatten({ background: options.background });
    if (resize) {
      pipeline = pipeline.resize({
        width: options.maxWidth,
        height: options.maxHeight,
        fit: 'inside',
        withoutEnlargement: true,
      });
    }
    pipeline = pipeline
      .toColourspace('srgb')
      .jpeg({ quality: options.quality, mozjpeg: true });

    const outputPath = join(context.workDir, 'output.jpg');
    // NOTE: libvips cannot be interrupted, so an abort during the encode
    // takes effect only when toFile() returns.
    const info = await pipeline.toFile(outputPath).catch((error: unknown) => {
      throw pipelineError(error, header, maxPixels);
    });
    context.signal.throwIfAborted();

    const inputBytes = (await stat(context.inputPath)).size;
    context.reportProgress(100);

    return {
      path: outputPath,
      name: outputName(context.input.name, '.jpg', 'image'),
      contentType: 'image/jpeg',
      metadata: {
        width: info.width,
        height: info.height,
        inputBytes,
        outputBytes: info.size,
        inputFormat: header.format,
      },
    };
  }

  return { slug: SLUG, run };
}
