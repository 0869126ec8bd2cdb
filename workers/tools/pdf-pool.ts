import type { Logger } from 'pino';
import { PdfThreadPool } from '../engines/pdf-thread.ts';

/**
 * Creates the pool of pdf.js threads that the PDF tools share. The threads
 * run `pdf-thread-main.ts`, whose tasks are `text`, `images` and `layout`.
 * `size` defaults to the CPU count, at most 2.
 */
export function createPdfThreadPool(
  options: { size?: number; logger?: Logger } = {},
): PdfThreadPool {
  return new PdfThreadPool({
    ...options,
    threadUrl: new URL('./pdf-thread-main.ts', import.meta.url),
  });
}
