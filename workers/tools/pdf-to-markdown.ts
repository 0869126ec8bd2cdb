import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { toolLimit } from '../../domain/catalog.ts';
import type { TextBlock } from '../engines/pdf-layout.ts';
import type { LayoutStats } from '../engines/pdf-layout-stats.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import { readPdfLayout } from './pdf-layout-read.ts';
import type { PdfLayoutPage } from './pdf-layout-thread.ts';
import {
  outputName,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'pdf-to-markdown';

/** Markdown between two pages: a horizontal rule in blank lines. */
export const MARKDOWN_PAGE_SEPARATOR = '\n\n---\n\n';

/**
 * Quality metadata of a Markdown conversion: the {@link LayoutStats} and a
 * `score` of pagesWithText / pages, from 0 to 1, the share of pages that
 * have a text layer. The score does not measure how well headings or lists
 * were recognised.
 */
export interface MarkdownQuality extends LayoutStats {
  score: number;
}

/**
 * Escapes a paragraph's first characters where Markdown would read them as
 * a heading, quote, list item or rule.
 */
function escapeParagraph(text: string): string {
  if (/^(#|>|[-*+]\s|\d+[.)]\s|[-*_]{3,}\s*$)/.test(text)) {
    return `\\${text}`;
  }
  return text;
}

/** Renders one page's blocks. Items of one list have no blank line between. */
export function markdownFromBlocks(blocks: TextBlock[]): string {
  let markdown = '';
  let previous: TextBlock | undefined;

  for (const block of blocks) {
    if (previous) {
      const sameList =
        previous.kind === 'listItem' &&
        block.kind === 'listItem' &&
        previous.ordered === block.ordered;
      markdown += sameList ? '\n' : '\n\n';
    }
    if (block.kind === 'heading') {
      markdown += `${'#'.repeat(block.level)} ${block.text}`;
    } else if (block.kind === 'listItem') {
      markdown += `${block.marker} ${block.text}`;
    } else {
      markdown += escapeParagraph(block.text);
    }
    previous = block;
  }
  return markdown;
}

/**
 * Creates the `pdf-to-markdown` tool: the PDF's text layer as Markdown, with
 * headings from font size and bold fonts, paragraphs joined across line
 * breaks, lists with a text marker (•, -, *, 1.) and `---` between pages.
 * Its metadata is a {@link MarkdownQuality}. It fails with `encrypted_pdf`,
 * `invalid_input` and `page_limit_exceeded` above the catalog's `maxPages`.
 */
export function createPdfToMarkdownRunner(
  pool: PdfThreadPool,
  settings: { memoryLimitBytes?: number } = {},
): ToolRunner {
  const maxPages = toolLimit(SLUG, 'maxPages');
  const { memoryLimitBytes } = settings;

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    context.signal.throwIfAborted();

    const outputPath = join(context.workDir, 'output.md');
    const output = createWriteStream(outputPath);
    let stats: LayoutStats;
    try {
      stats = await readPdfLayout(pool, context, {
        maxPages,
        label: 'Converting the PDF to Markdown',
        memoryLimitBytes,
        onPage: (page: PdfLayoutPage) => {
          const separator = page.page > 1 ? MARKDOWN_PAGE_SEPARATOR : '';
          output.write(separator + markdownFromBlocks(page.blocks));
        },
      });
    } finally {
      output.end('\n');
      await finished(output);
    }

    // The thread rejects a PDF without pages, so `pages` is at least 1.
    const quality: MarkdownQuality = {
      ...stats,
      score: stats.pagesWithText / stats.pages,
    };
    return {
      path: outputPath,
      name: outputName(context.input.name, '.md'),
      contentType: 'text/markdown; charset=utf-8',
      // A PDF of blank or scanned pages has no text to convert.
      emptyAllowed: true,
      metadata: { ...quality },
    };
  }

  return { slug: SLUG, run };
}
