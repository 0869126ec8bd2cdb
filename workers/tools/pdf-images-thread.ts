import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCanvas } from '@napi-rs/canvas';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api.js';
import { ZipFile } from 'yazl';
import {
  asInputError,
  checkPageLimit,
  openPdfDocument,
  PdfInputError,
} from '../engines/pdf-document.ts';
import type { PdfThreadMessage } from '../engines/pdf-thread.ts';
import { selectPages, type PageSpan } from './page-range.ts';

/** The input of a page-rendering task. */
export interface PdfImagesJob {
  inputPath: string;
  /** ZIP file written entry by entry as the pages are rendered. */
  outputPath: string;
  dpi: number;
  /** Pages to render, or all of them when absent. */
  spans?: PageSpan[];
  /** Maximum number of pages rendered. */
  maxPages: number;
  /** Maximum sum of width * height over the rendered pages. */
  maxTotalPixels: number;
}

/** One PNG entry of the ZIP. */
export interface PdfImageEntry {
  name: string;
  /** 1-based page number in the PDF. */
  page: number;
  width: number;
  height: number;
  sizeBytes: number;
}

/** Summary a page-rendering thread posts when the ZIP is complete. */
export interface PdfImagesResult {
  images: PdfImageEntry[];
}

export type PdfImagesMessage = PdfThreadMessage<PdfImagesResult>;

/** Fraction of a pixel below which a page edge is rounded down. */
const PIXEL_TOLERANCE = 0.001;

interface PageSize {
  page: number;
  width: number;
  height: number;
}

/** Returns `page-001.png`. Numbers over 999 keep all their digits. */
function entryName(page: number): string {
  return `page-${String(page).padStart(3, '0')}.png`;
}

/**
 * Measures every selected page at the requested scale, so a selection over
 * the pixel limit fails before any rendering starts.
 */
async function measurePages(
  document: PDFDocumentProxy,
  pages: number[],
  job: PdfImagesJob,
): Promise<PageSize[]> {
  const scale = job.dpi / 72;
  const sizes: PageSize[] = [];
  let totalPixels = 0;

  for (const number of pages) {
    const page = await asInputError(document.getPage(number));
    const viewport = page.getViewport({ scale });
    page.cleanup();

    // Rounding up keeps a fractional edge pixel. The tolerance absorbs
    // floating-point error: A4 at 150 dpi is 1756.0000000000002 high here,
    // and pdftoppm makes 1242 x 1756 of it, which a test checks.
    const width = Math.max(1, Math.ceil(viewport.width - PIXEL_TOLERANCE));
    const height = Math.max(1, Math.ceil(viewport.height - PIXEL_TOLERANCE));
    sizes.push({ page: number, width, height });
    totalPixels += width * height;
  }

  if (totalPixels > job.maxTotalPixels) {
    throw new PdfInputError(
      `Rendering ${pages.length} page(s) at ${job.dpi} dpi makes ` +
        `${totalPixels} pixels, more than the limit of ` +
        `${job.maxTotalPixels}. Lower the dpi or select fewer pages.`,
      'pixel_limit_exceeded',
    );
  }
  return sizes;
}

async function renderPng(
  document: PDFDocumentProxy,
  size: PageSize,
  scale: number,
): Promise<Buffer> {
  const page = await asInputError(document.getPage(size.page));
  const canvas = createCanvas(size.width, size.height);
  try {
    // pdf.js draws on @napi-rs/canvas through the DOM canvas interface.
    const target = canvas as unknown as HTMLCanvasElement;
    const viewport = page.getViewport({ scale });
    await page.render({ canvas: target, viewport }).promise;
    return await canvas.encode('png');
  } finally {
    page.cleanup();
  }
}

export async function renderPages(
  job: PdfImagesJob,
  post: (message: PdfImagesMessage) => void,
): Promise<PdfImagesResult> {
  const document = await openPdfDocument(job.inputPath);
  try {
    const pages = selectPages(job.spans, document.numPages);
    if (typeof pages === 'string') {
      throw new PdfInputError(pages, 'invalid_options');
    }
    checkPageLimit(pages.length, job.maxPages);
    const sizes = await measurePages(document, pages, job);

    const zip = new ZipFile();
    let zipBytes = 0;
    zip.outputStream.on('data', (chunk: Buffer) => {
      zipBytes += chunk.length;
    });
    const written = pipeline(
      zip.outputStream,
      createWriteStream(job.outputPath),
    );
    // A write error ends the wait below through the race. This handler only
    // keeps the rejection from counting as unhandled before then.
    written.catch(() => undefined);

    const images: PdfImageEntry[] = [];
    for (const [index, size] of sizes.entries()) {
      const png = await renderPng(document, size, job.dpi / 72);
      const name = entryName(size.page);
      const before = zipBytes;

      // PNG is compressed already, so the entry is stored as it is. yazl
      // keeps an addBuffer() buffer until the ZIP ends, but not a stream's
      // chunks, so the PNG goes in as a stream.
      zip.addReadStream(Readable.from([png]), name, {
        compress: false,
        mtime: new Date(),
        size: png.length,
      });
      // Waits until yazl has emitted the entry, so at most one page's PNG is
      // held in memory at a time.
      while (zipBytes < before + png.length) {
        await Promise.race([once(zip.outputStream, 'data'), written]);
      }

      const { page, width, height } = size;
      images.push({ name, page, width, height, sizeBytes: png.length });
      post({ type: 'progress', page: index + 1, pages: sizes.length });
    }

    zip.end();
    await written;
    return { images };
  } finally {
    await document.destroy();
  }
}
