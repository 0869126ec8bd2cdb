import { OPS } from 'pdfjs-dist/legacy/build/pdf.mjs';
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
  markBulletShapes,
  type Box,
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

type Matrix = [number, number, number, number, number, number];

type OperatorList = Awaited<ReturnType<PDFPageProxy['getOperatorList']>>;

function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

/** Paint operations that make a path visible. */
const PAINTS = new Set<number>([
  OPS.stroke,
  OPS.closeStroke,
  OPS.fill,
  OPS.eoFill,
  OPS.fillStroke,
  OPS.eoFillStroke,
  OPS.closeFillStroke,
  OPS.closeEOFillStroke,
]);

/**
 * Returns the page-space bounding boxes of the painted paths of an operator
 * list, following the transformation matrix through save, restore, cm and
 * form XObjects. pdf.js gives each path's bounds in the user space of its
 * drawing (`constructPath` arguments: paint operation, path, bounds).
 */
function paintedShapes(operators: OperatorList): Box[] {
  const boxes: Box[] = [];
  const saved: Matrix[] = [];
  let matrix: Matrix = [1, 0, 0, 1, 0, 0];

  operators.fnArray.forEach((operation, index) => {
    const args = operators.argsArray[index] as unknown[];
    if (operation === OPS.save || operation === OPS.paintFormXObjectBegin) {
      saved.push(matrix);
      const form = args?.[0];
      if (operation === OPS.paintFormXObjectBegin && Array.isArray(form)) {
        matrix = multiply(matrix, form as Matrix);
      }
    } else if (
      operation === OPS.restore ||
      operation === OPS.paintFormXObjectEnd
    ) {
      matrix = saved.pop() ?? matrix;
    } else if (operation === OPS.transform) {
      matrix = multiply(matrix, args as Matrix);
    } else if (operation === OPS.constructPath) {
      const [paint, , bounds] = args as [number, unknown, number[] | null];
      if (!PAINTS.has(paint) || !bounds || bounds.length < 4) {
        return;
      }
      const [minX = 0, minY = 0, maxX = 0, maxY = 0] = bounds;
      const corners = [
        [minX, minY],
        [minX, maxY],
        [maxX, minY],
        [maxX, maxY],
      ].map(([x = 0, y = 0]) => [
        matrix[0] * x + matrix[2] * y + matrix[4],
        matrix[1] * x + matrix[3] * y + matrix[5],
      ]);
      const xs = corners.map(([x = 0]) => x);
      const ys = corners.map(([, y = 0]) => y);
      boxes.push({
        left: Math.min(...xs),
        right: Math.max(...xs),
        bottom: Math.min(...ys),
        top: Math.max(...ys),
      });
    }
  });
  return boxes;
}

/**
 * Reads a page's text lines with bold flags and drawn bullets. pdf.js
 * reveals a font's name only once the operator list has loaded it, so pages
 * with text load it. Pages without text (scans) skip that step, which would
 * decode their images.
 */
async function pageLines(page: PDFPageProxy): Promise<TextLine[]> {
  const { items } = await asInputError(page.getTextContent());
  if (items.length === 0) {
    return [];
  }

  const operators = await asInputError(page.getOperatorList());
  const isBoldFont = (fontName: string): boolean => {
    if (!page.commonObjs.has(fontName)) {
      return false;
    }
    const font = page.commonObjs.get(fontName) as { name?: unknown };
    return typeof font.name === 'string' && BOLD_FONT_NAME.test(font.name);
  };
  const lines = linesFromItems(items, isBoldFont);
  markBulletShapes(lines, paintedShapes(operators));
  return lines;
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
