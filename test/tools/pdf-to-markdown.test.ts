import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildPdf,
  encryptedPdf,
  makePdfRun,
  PdfFixtures,
} from '../support/pdf-fixtures.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPdfThreadPool } from '../../workers/tools/pdf-pool.ts';
import { createPdfToMarkdownRunner } from '../../workers/tools/pdf-to-markdown.ts';

let root: string;
let fixtures: PdfFixtures;
const pool = createPdfThreadPool();
const runner = createPdfToMarkdownRunner(pool);

beforeAll(async () => {
  fixtures = await PdfFixtures.start('pdf-to-markdown-');
  root = fixtures.root;
});

afterAll(() => Promise.all([fixtures.close(), pool.close()]));

const htmlToPdf = (name: string, html: string) =>
  fixtures.htmlToPdf(name, html);

/**
 * Chromium draws the default disc bullet as a shape, not as text, so the
 * list uses a text marker that reaches the PDF's text layer.
 */
const STYLE =
  '<style>section { break-after: page } ul { list-style-type: "• " }</style>';

const LONG_PARAGRAPH =
  'This paragraph is long enough to wrap across several lines of the ' +
  'printed page, so the converter has to join the lines again into one ' +
  'paragraph of Markdown without the line breaks of the layout.';

const REPORT_HTML =
  STYLE +
  '<section><h1>Annual Report</h1>' +
  `<p>${LONG_PARAGRAPH}</p>` +
  '<h2>Highlights</h2>' +
  '<ul><li>Revenue grew</li><li>Costs fell</li></ul>' +
  '<ol><li>First step</li><li>Second step</li></ol></section>' +
  '<section><h2>Outlook</h2><p>Next year looks steady.</p></section>' +
  '<section><p>Closing words.</p></section>';

const makeRun = (inputPath: string) => makePdfRun(inputPath, root);

function blankPagePdf(): Buffer {
  return buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
  ]);
}

describe('pdf-to-markdown', () => {
  let markdown: string;
  let lines: string[];
  let metadata: Record<string, unknown>;
  let progress: number[];

  beforeAll(async () => {
    const input = await htmlToPdf('report.pdf', REPORT_HTML);
    const run = await makeRun(input);
    const output = await runner.run(run.context);
    markdown = await readFile(output.path, 'utf8');
    lines = markdown.split('\n');
    metadata = output.metadata;
    progress = run.progress;
  });

  it('writes h1 as a level-1 heading', () => {
    expect(lines).toContain('# Annual Report');
  });

  it('writes h2 as a level-2 heading', () => {
    expect(lines).toContain('## Highlights');
    expect(lines).toContain('## Outlook');
  });

  it('joins a wrapped paragraph into one line', () => {
    expect(lines).toContain(LONG_PARAGRAPH);
  });

  it('keeps bullet items as a list', () => {
    const first = lines.indexOf('- Revenue grew');

    expect(first).toBeGreaterThan(-1);
    expect(lines[first + 1]).toBe('- Costs fell');
  });

  it('keeps numbered items as a list', () => {
    expect(lines).toContain('1. First step');
    expect(lines).toContain('2. Second step');
  });

  it('separates pages with a rule', () => {
    expect(markdown.split('\n\n---\n\n')).toHaveLength(3);
    expect(markdown.split('\n\n---\n\n')[2]).toBe('Closing words.\n');
  });

  it('reports the structure found', () => {
    expect(metadata.pages).toBe(3);
    expect(metadata.pagesWithText).toBe(3);
    expect(metadata.pagesWithoutText).toEqual([]);
    expect(metadata.headings).toBe(3);
    expect(metadata.listItems).toBe(4);
    expect(metadata.paragraphs).toBe(3);
    expect(metadata.score).toBe(1);
  });

  it('reports progress per page', () => {
    expect(progress).toEqual([33, 66, 100]);
  });

  it('scores a blank page as zero', async () => {
    const input = join(root, 'blank.pdf');
    await writeFile(input, blankPagePdf());
    const { context } = await makeRun(input);

    const output = await runner.run(context);

    expect(output.emptyAllowed).toBe(true);
    expect(output.metadata.pagesWithoutText).toEqual([1]);
    expect(output.metadata.score).toBe(0);
  });

  it('reads drawn bullets as a list', async () => {
    // Chromium draws the default markers as shapes, not as text.
    const input = await htmlToPdf(
      'drawn-bullets.pdf',
      '<p>Intro words.</p><ul><li>Disc item</li><li>Parent' +
        '<ul><li>Circle item</li></ul></li></ul>' +
        '<ul style="list-style: square"><li>Square item</li></ul>' +
        '<p>Closing words.</p>',
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);
    const text = (await readFile(output.path, 'utf8')).split('\n');

    expect(text).toContain('- Disc item');
    expect(text).toContain('- Circle item');
    expect(text).toContain('- Square item');
    expect(text).toContain('Intro words.');
    expect(text).toContain('Closing words.');
    expect(output.metadata.listItems).toBe(4);
  });

  it('writes a bold line as a heading', async () => {
    const input = await htmlToPdf(
      'bold.pdf',
      '<p><b>Terms of use</b></p><p>Plain text follows here.</p>',
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);
    const text = await readFile(output.path, 'utf8');

    expect(text.split('\n')).toContain('#### Terms of use');
    expect(text.split('\n')).toContain('Plain text follows here.');
  });

  it('rejects a corrupt PDF as invalid_input', async () => {
    const input = join(root, 'corrupt.pdf');
    await writeFile(input, randomBytes(4096));
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects an encrypted PDF as encrypted_pdf', async () => {
    const input = join(root, 'encrypted.pdf');
    await writeFile(input, encryptedPdf());
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'encrypted_pdf' });
  });

  it('terminates the thread on abort', async () => {
    const paragraph = '<p>Lorem ipsum dolor sit amet. </p>'.repeat(60);
    const input = await htmlToPdf(
      'long-text.pdf',
      STYLE + `<section>${paragraph}</section>`.repeat(60),
    );
    const { context, controller, progress: reports } = await makeRun(input);
    const running = runner.run(context).catch((caught: unknown) => caught);

    await expect
      .poll(() => reports.length, { timeout: 10_000 })
      .toBeGreaterThan(0);
    const abortedAt = Date.now();
    controller.abort();
    const error = await running;
    const abortMs = Date.now() - abortedAt;
    const reportsAtAbort = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(abortMs).toBeLessThan(1_000);
    // A thread still running would keep posting one report per page.
    expect(reports.length).toBe(reportsAtAbort);
    expect(reports.at(-1)).toBeLessThan(100);
  });
});
