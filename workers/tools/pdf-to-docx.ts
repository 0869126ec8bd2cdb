import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AlignmentType,
  Document,
  HeadingLevel,
  LevelFormat,
  Packer,
  PageBreak,
  Paragraph,
} from 'docx';
import { toolLimit } from '../../domain/catalog.ts';
import type { TextBlock } from '../engines/pdf-layout.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import { readPdfLayout } from './pdf-layout-read.ts';
import type { PdfLayoutPage } from './pdf-layout-thread.ts';
import {
  outputName,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'pdf-to-docx';

const DOCX_CONTENT_TYPE =
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

const ORDERED_LIST = 'ordered-list';

const HEADING_STYLES = {
  1: HeadingLevel.HEADING_1,
  2: HeadingLevel.HEADING_2,
  3: HeadingLevel.HEADING_3,
  4: HeadingLevel.HEADING_4,
} as const;

/**
 * Turns pages of blocks into DOCX paragraphs in reading order. Every page
 * after the first starts with a page break, so blank pages keep their place.
 */
class DocxBody {
  readonly paragraphs: Paragraph[] = [];
  /** Numbering instance of the current ordered list, so each list restarts. */
  private listInstance = 0;
  private previous: TextBlock | undefined;

  addPage({ page, blocks }: PdfLayoutPage): void {
    if (page > 1) {
      this.paragraphs.push(new Paragraph({ children: [new PageBreak()] }));
      this.previous = undefined;
    }
    for (const block of blocks) {
      this.paragraphs.push(this.paragraph(block));
      this.previous = block;
    }
  }

  private paragraph(block: TextBlock): Paragraph {
    const { text } = block;
    if (block.kind === 'heading') {
      return new Paragraph({ text, heading: HEADING_STYLES[block.level] });
    }
    if (block.kind === 'paragraph') {
      return new Paragraph({ text });
    }
    if (!block.ordered) {
      return new Paragraph({ text, bullet: { level: 0 } });
    }

    const continuesList =
      this.previous?.kind === 'listItem' && this.previous.ordered;
    if (!continuesList) {
      this.listInstance += 1;
    }
    const instance = this.listInstance;
    return new Paragraph({
      text,
      numbering: { reference: ORDERED_LIST, level: 0, instance },
    });
  }
}

function buildDocument(paragraphs: Paragraph[]): Document {
  return new Document({
    numbering: {
      config: [
        {
          reference: ORDERED_LIST,
          levels: [
            {
              level: 0,
              format: LevelFormat.DECIMAL,
              text: '%1.',
              alignment: AlignmentType.START,
              style: { paragraph: { indent: { left: 720, hanging: 360 } } },
            },
          ],
        },
      ],
    },
    // A PDF without text still gets one empty paragraph, as a new Word
    // document has.
    sections: [
      { children: paragraphs.length > 0 ? paragraphs : [new Paragraph({})] },
    ],
  });
}

/**
 * Creates the `pdf-to-docx` tool: the PDF's text layer as a text-only DOCX,
 * with the headings, paragraphs and lists that `pdf-to-markdown` finds and a
 * page break before each PDF page after the first. Its metadata counts
 * pages, pages with and without text, headings, list items and paragraphs.
 * It fails with `encrypted_pdf`, `invalid_input` and `page_limit_exceeded`
 * above the catalog's `maxPages`.
 */
export function createPdfToDocxRunner(
  pool: PdfThreadPool,
  settings: { memoryLimitBytes?: number } = {},
): ToolRunner {
  const maxPages = toolLimit(SLUG, 'maxPages');
  const { memoryLimitBytes } = settings;

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    context.signal.throwIfAborted();

    const body = new DocxBody();
    const stats = await readPdfLayout(pool, context, {
      maxPages,
      label: 'Converting the PDF to DOCX',
      memoryLimitBytes,
      onPage: (page) => body.addPage(page),
    });
    context.signal.throwIfAborted();

    // NOTE: docx builds the whole file in memory. For text only that is, by
    // estimate, a few times the size of the PDF's text.
    const outputPath = join(context.workDir, 'output.docx');
    await writeFile(
      outputPath,
      await Packer.toBuffer(buildDocument(body.paragraphs)),
    );

    return {
      path: outputPath,
      name: outputName(context.input.name, '.docx'),
      contentType: DOCX_CONTENT_TYPE,
      metadata: { ...stats },
    };
  }

  return { slug: SLUG, run };
}
