import { open } from 'node:fs/promises';
import type { TextContent } from 'pdfjs-dist/types/src/display/api.js';
import {
  asInputError,
  checkPageLimit,
  openPdfDocument,
} from '../engines/pdf-document.ts';
import type { PdfThreadMessage } from '../engines/pdf-thread.ts';

/** The input of a text-extraction task. */
export interface PdfTextJob {
  inputPath: string;
  /** Output file for the UTF-8 text, written page by page. */
  outputPath: string;
  maxPages: number;
}

/** Summary a text-extraction thread posts after its last page. */
export interface PdfTextResult {
  pages: number;
  /** Unicode code points in the output, separators included. */
  characters: number;
  /** 1-based numbers of the pages whose text is empty. */
  pagesWithoutText: number[];
}

const PAGE_SEPARATOR = '\f';

/**
 * Joins text items into lines. A line ends where pdf.js marks an end of line
 * (`hasEOL`) or where the baseline moves by more than half the glyph height,
 * so superscripts stay on their line.
 */
function pageTextFromItems(items: TextContent['items']): string {
  const lines: string[] = [];
  let line = '';
  let lastY: number | undefined;

  for (const item of items) {
    if (!('str' in item)) {
      continue;
    }

    const y = Number(item.transform[5]);
    const tolerance = Math.max(item.height, 1) / 2;
    if (lastY !== undefined && line !== '' && Math.abs(y - lastY) > tolerance) {
      lines.push(line);
      line = '';
    }

    line += item.str;
    lastY = y;
    if (item.hasEOL) {
      lines.push(line);
      line = '';
    }
  }
  if (line !== '') {
    lines.push(line);
  }

  return lines
    .map((text) => text.trimEnd())
    .join('\n')
    .trim();
}

export async function extractText(
  job: PdfTextJob,
  post: (message: PdfThreadMessage<PdfTextResult>) => void,
): Promise<PdfTextResult> {
  const document = await openPdfDocument(job.inputPath);
  try {
    const pages = document.numPages;
    checkPageLimit(pages, job.maxPages);

    const output = await open(job.outputPath, 'w');
    const pagesWithoutText: number[] = [];
    let characters = 0;
    try {
      for (let number = 1; number <= pages; number++) {
        const page = await asInputError(document.getPage(number));
        const content = await asInputError(page.getTextContent());
        const text = pageTextFromItems(content.items);
        page.cleanup();

        if (text === '') {
          pagesWithoutText.push(number);
        }
        const chunk = number < pages ? text + PAGE_SEPARATOR : text;
        await output.write(chunk);
        characters += [...chunk].length;
        post({ type: 'progress', page: number, pages });
      }
    } finally {
      await output.close();
    }
    return { pages, characters, pagesWithoutText };
  } finally {
    await document.destroy();
  }
}
