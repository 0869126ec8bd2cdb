import { join } from 'node:path';
import { toolLimit } from '../../domain/catalog.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import { parsePageRange } from './page-range.ts';
import type { PdfImagesJob, PdfImagesResult } from './pdf-images-thread.ts';
import {
  outputName,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'pdf-to-images-zip';

/**
 * Creates the `pdf-to-images-zip` tool: the selected pages rendered by pdf.js
 * at `dpi` (default 150) as PNGs named `page-001.png` and so on, in one ZIP.
 * It fails with `invalid_options` for a page range outside the document,
 * `pixel_limit_exceeded` when the pages would exceed the catalog's
 * `maxTotalPixels` (checked before rendering), `page_limit_exceeded` for
 * more than `maxPages` selected pages, `encrypted_pdf` and `invalid_input`.
 */
export function createPdfToImagesZipRunner(
  pool: PdfThreadPool,
  settings: { memoryLimitBytes?: number } = {},
): ToolRunner {
  const maxPages = toolLimit(SLUG, 'maxPages');
  const maxTotalPixels = toolLimit(SLUG, 'maxTotalPixels');
  const { memoryLimitBytes } = settings;

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    context.signal.throwIfAborted();

    const dpi =
      typeof context.options.dpi === 'number' ? context.options.dpi : 150;
    const range = context.options.pages;
    const spans = typeof range === 'string' ? parsePageRange(range) : undefined;
    if (typeof spans === 'string') {
      throw new InvalidInputError(spans, 'invalid_options');
    }

    const outputPath = join(context.workDir, 'output.zip');
    const job: PdfImagesJob = {
      inputPath: context.inputPath,
      outputPath,
      dpi,
      spans,
      maxPages,
      maxTotalPixels,
    };
    const { images } = await pool.run<PdfImagesJob, PdfImagesResult>({
      task: 'images',
      job,
      context,
      memoryLimitBytes,
      label: 'Rendering the PDF pages',
    });

    return {
      path: outputPath,
      name: outputName(context.input.name, '-pages.zip'),
      contentType: 'application/zip',
      metadata: { pages: images.length, dpi, images },
    };
  }

  return { slug: SLUG, run };
}
