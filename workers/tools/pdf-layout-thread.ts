import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import {
  asInputError,
  checkPageLimit,
  openPdfDocument,
} from '../engines/pdf-document.ts';
import {
  blocksFromLines,
  bodyFontSize,
  linesFromItems,
  type TextBlock,
  type TextLine,
} from '../engines/pdf-layout.ts';
import type { PdfThreadMessage } from '../engines/pdf-thread.ts';

/** The input of a layout task. */
export interface PdfLayoutJob {
  inputPath: string;
  maxPages: number;
}

/** One page's blocks in reading order, posted in page order. */
export interface PdfLayoutPage {
  /** 1-based page number. */
  page: number;
  blocks: TextBlock[];
}

/** Summary a layout thread posts after its last page. */
export interface PdfLayoutResult {
  pages: number;
  /** Font size of the body text in points, 0 when no page has text. */
  bodySize: number;
}

export type PdfLayoutMessage = PdfThreadMessage<PdfLayoutResult, PdfLayoutPage>;

const BOLD_FONT_NAME = /bold|black|heavy|demi/i;

/**
 * Reads a page's text lines with bold flags. pdf.js reveals a font's name
 * only once the operator list has loaded it, so pages with text load it.
 * Pages without text (scans) skip that step, which would decode their images.
 */
async function pageLines(page: PDFPageProxy): Promise<TextLine[]> {
  const { items } = await asInputError(page.getTextContent());
  if (items.length === 0) {
    return [];
  }

  await asInputError(page.getOperatorList());
  const isBoldFont = (fontName: string): boolean => {
    if (!page.commonObjs.has(fontName)) {
      return false;
    }
    const font = page.commonObjs.get(fontName) as { name?: unknown };
    return typeof font.name === 'string' && BOLD_FONT_NAME.test(font.name);
  };
  return linesFromItems(items, isBoldFont);
}

/**
 * Reads every page's lines first, because heading levels depend on the body
 * font size of the whole document, then posts each page's blocks.
 * NOTE: all lines stay in memory until the end. They are text only, by
 * estimate a few times the size of the document's text.
 */
export async function readLayout(
  job: PdfLayoutJob,
  post: (message: PdfLayoutMessage) => void,
): Promise<PdfLayoutResult> {
  const document = await openPdfDocument(job.inputPath);
  try {
    const pages = document.numPages;
    checkPageLimit(pages, job.maxPages);

    const linesByPage: TextLine[][] = [];
    for (let number = 1; number <= pages; number++) {
      const page = await asInputError(document.getPage(number));
      linesByPage.push(await pageLines(page));
      page.cleanup();
      post({ type: 'progress', page: number, pages });
    }

    const bodySize = bodyFontSize(linesByPage.flat());
    linesByPage.forEach((lines, index) => {
      const blocks = blocksFromLines(lines, bodySize);
      post({ type: 'item', item: { page: index + 1, blocks } });
    });
    return { pages, bodySize };
  } finally {
    await document.destroy();
  }
}
