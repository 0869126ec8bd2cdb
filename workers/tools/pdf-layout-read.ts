import {
  countPageBlocks,
  emptyLayoutStats,
  type LayoutStats,
} from '../engines/pdf-layout-stats.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import type {
  PdfLayoutJob,
  PdfLayoutPage,
  PdfLayoutResult,
} from './pdf-layout-thread.ts';
import type { ToolRunContext } from '../tool.ts';

/** How to read a PDF's layout for one job. */
export interface LayoutReading {
  maxPages: number;
  /** Name of the conversion in error messages. */
  label: string;
  memoryLimitBytes?: number;
  /** Receives each page's blocks, in page order. */
  onPage: (page: PdfLayoutPage) => void;
}

/**
 * Reads the job's PDF as text blocks in reading order on a pooled thread,
 * hands each page to `onPage` and returns what the pages held.
 */
export async function readPdfLayout(
  pool: PdfThreadPool,
  context: ToolRunContext,
  reading: LayoutReading,
): Promise<LayoutStats> {
  const stats = emptyLayoutStats();
  const { pages } = await pool.run<
    PdfLayoutJob,
    PdfLayoutResult,
    PdfLayoutPage
  >({
    task: 'layout',
    job: { inputPath: context.inputPath, maxPages: reading.maxPages },
    context,
    memoryLimitBytes: reading.memoryLimitBytes,
    label: reading.label,
    onItem: (page) => {
      reading.onPage(page);
      countPageBlocks(stats, page.page, page.blocks);
    },
  });
  stats.pages = pages;
  return stats;
}
