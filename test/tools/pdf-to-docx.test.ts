import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildPdf,
  encryptedPdf,
  makePdfRun,
  PdfFixtures,
} from '../support/pdf-fixtures.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPdfThreadPool } from '../../workers/tools/pdf-pool.ts';
import { createPdfToDocxRunner } from '../../workers/tools/pdf-to-docx.ts';

const execFileAsync = promisify(execFile);

let root: string;
let fixtures: PdfFixtures;
const pool = createPdfThreadPool();
const runner = createPdfToDocxRunner(pool);

beforeAll(async () => {
  fixtures = await PdfFixtures.start('pdf-to-docx-');
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

/**
 * Parses every XML part of a DOCX with Python's standard XML parser, then
 * returns the body's paragraphs with style, numbering, page breaks and text.
 */
const READ_DOCX = `
import json, sys, zipfile
import xml.etree.ElementTree as ET
W = '{http://schemas.openxmlformats.org/wordprocessingml/2006/main}'
with zipfile.ZipFile(sys.argv[1]) as docx:
    names = docx.namelist()
    for name in names:
        if name.endswith('.xml') or name.endswith('.rels'):
            ET.fromstring(docx.read(name))
    body = ET.fromstring(docx.read('word/document.xml')).find(W + 'body')
paragraphs = []
for p in body.iter(W + 'p'):
    style = p.find(f'{W}pPr/{W}pStyle')
    paragraphs.append({
        'style': style.get(W + 'val') if style is not None else None,
        'numbered': p.find(f'{W}pPr/{W}numPr') is not None,
        'pageBreaks': sum(1 for br in p.iter(W + 'br') if br.get(W + 'type') == 'page'),
        'text': ''.join(t.text or '' for t in p.iter(W + 't')),
    })
print(json.dumps({'parts': names, 'paragraphs': paragraphs}))
`;

interface DocxParagraph {
  style: string | null;
  numbered: boolean;
  pageBreaks: number;
  text: string;
}

interface DocxContent {
  parts: string[];
  paragraphs: DocxParagraph[];
}

async function readDocx(path: string): Promise<DocxContent> {
  const { stdout } = await execFileAsync('python3', ['-c', READ_DOCX, path]);
  return JSON.parse(stdout) as DocxContent;
}

function pageBreaks(content: DocxContent): number {
  return content.paragraphs.reduce((sum, p) => sum + p.pageBreaks, 0);
}

const makeRun = (inputPath: string) => makePdfRun(inputPath, root);

describe('pdf-to-docx', () => {
  let content: DocxContent;
  let texts: string[];
  let metadata: Record<string, unknown>;
  let name: string;

  beforeAll(async () => {
    const input = await htmlToPdf('report.pdf', REPORT_HTML);
    const { context } = await makeRun(input);
    const output = await runner.run(context);
    content = await readDocx(output.path);
    texts = content.paragraphs.map((paragraph) => paragraph.text);
    metadata = output.metadata;
    name = output.name;
  });

  it('contains the parts Word needs', () => {
    expect(content.parts).toContain('[Content_Types].xml');
    expect(content.parts).toContain('_rels/.rels');
    expect(content.parts).toContain('word/document.xml');
  });

  it('keeps headings with their style', () => {
    const heading = (text: string) =>
      content.paragraphs.find((paragraph) => paragraph.text === text)?.style;

    expect(heading('Annual Report')).toBe('Heading1');
    expect(heading('Highlights')).toBe('Heading2');
    expect(heading('Outlook')).toBe('Heading2');
  });

  it('keeps a wrapped paragraph whole', () => {
    expect(texts).toContain(LONG_PARAGRAPH);
  });

  it('keeps list items as list paragraphs', () => {
    const item = (text: string) =>
      content.paragraphs.find((paragraph) => paragraph.text === text);

    expect(item('Revenue grew')?.numbered).toBe(true);
    expect(item('Costs fell')?.numbered).toBe(true);
    expect(item('First step')?.numbered).toBe(true);
    expect(item('Second step')?.numbered).toBe(true);
  });

  it('breaks the page between PDF pages', () => {
    const breakAt = content.paragraphs.findIndex((p) => p.pageBreaks > 0);

    expect(pageBreaks(content)).toBe(2);
    expect(texts.indexOf('Next year looks steady.')).toBeGreaterThan(breakAt);
  });

  it('keeps the reading order', () => {
    const order = ['Annual Report', 'Highlights', 'Outlook', 'Closing words.'];
    const positions = order.map((text) => texts.indexOf(text));

    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(positions[0]).toBeGreaterThan(-1);
  });

  it('counts the structure found', () => {
    expect(metadata.pages).toBe(3);
    expect(metadata.pagesWithText).toBe(3);
    expect(metadata.headings).toBe(3);
    expect(metadata.listItems).toBe(4);
    expect(metadata.paragraphs).toBe(3);
    expect(name).toBe('report.docx');
  });

  it('keeps blank pages as page breaks', async () => {
    const input = join(root, 'blank.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
      ]),
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);
    const blank = await readDocx(output.path);

    expect(pageBreaks(blank)).toBe(1);
    expect(output.metadata.pagesWithoutText).toEqual([1, 2]);
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
    const { context, controller, progress } = await makeRun(input);
    const running = runner.run(context).catch((caught: unknown) => caught);

    await expect
      .poll(() => progress.length, { timeout: 10_000 })
      .toBeGreaterThan(0);
    const abortedAt = Date.now();
    controller.abort();
    const error = await running;
    const abortMs = Date.now() - abortedAt;
    const reportsAtAbort = progress.length;
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(abortMs).toBeLessThan(1_000);
    // A thread still running would keep posting one report per page.
    expect(progress.length).toBe(reportsAtAbort);
    expect(progress.at(-1)).toBeLessThan(100);
  });
});
