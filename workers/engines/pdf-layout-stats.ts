import type { TextBlock } from './pdf-layout.ts';

/** Counts of what a conversion found in the text layer. */
export interface LayoutStats {
  pages: number;
  pagesWithText: number;
  /** 1-based numbers of the pages with no text layer (scans, blank pages). */
  pagesWithoutText: number[];
  headings: number;
  listItems: number;
  paragraphs: number;
}

export function emptyLayoutStats(): LayoutStats {
  return {
    pages: 0,
    pagesWithText: 0,
    pagesWithoutText: [],
    headings: 0,
    listItems: 0,
    paragraphs: 0,
  };
}

/** Adds one page's blocks to `stats`. A page without blocks has no text. */
export function countPageBlocks(
  stats: LayoutStats,
  page: number,
  blocks: TextBlock[],
): void {
  stats.pages = Math.max(stats.pages, page);
  if (blocks.length === 0) {
    stats.pagesWithoutText.push(page);
    return;
  }
  stats.pagesWithText += 1;
  for (const block of blocks) {
    if (block.kind === 'heading') {
      stats.headings += 1;
    } else if (block.kind === 'listItem') {
      stats.listItems += 1;
    } else {
      stats.paragraphs += 1;
    }
  }
}
