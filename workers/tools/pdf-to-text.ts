import { join } from 'node:path';
import { toolLimit } from '../../domain/catalog.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import type { PdfTextJob, PdfTextResult } from './pdf-text-thread.ts';
import {
  outputName,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'pdf-to-text';

function scannedPagesNote(pages: number[]): string {
  const list = pages.join(', ');
  const subject =
    pages.length === 1 ? `Page ${list} has` : `Pages ${list} have`;
  return (
    `${subject} no text layer: scanned or blank pages look like this. ` +
    'They were not OCRed and contribute no text.'
  );
}

/**
 * Creates the `pdf-to-text` tool: the PDF's text layer as UTF-8, a form feed
 * between pages. It fails with `encrypted_pdf` for a password-protected PDF,
 * `invalid_input` for a corrupt one and `page_limit_exceeded` above the
 * catalog's `maxPages`.
 */
export function createPdfToTextRunner(
  pool: PdfThreadPool,
  settings: { memoryLimitBytes?: number } = {},
): ToolRunner {
  const maxPages = toolLimit(SLUG, 'maxPages');
  const { memoryLimitBytes } = settings;

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    context.signal.throwIfAborted();

    const outputPath = join(context.workDir, 'output.txt');
    const result = await pool.run<PdfTextJob, PdfTextResult>({
      task: 'text',
      job: { inputPath: context.inputPath, outputPath, maxPages },
      context,
      memoryLimitBytes,
      label: 'Extracting the text',
    });

    const { pages, characters, pagesWithoutText } = result;
    const metadata: Record<string, unknown> = {
      pages,
      characters,
      pagesWithoutText,
    };
    if (pagesWithoutText.length > 0) {
      metadata.note = scannedPagesNote(pagesWithoutText);
    }

    return {
      path: outputPath,
      name: outputName(context.input.name, '.txt'),
      contentType: 'text/plain; charset=utf-8',
      emptyAllowed: true,
      metadata,
    };
  }

  return { slug: SLUG, run };
}
