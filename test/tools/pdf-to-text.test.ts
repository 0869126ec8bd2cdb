import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  buildPdf,
  encryptedPdf,
  makePdfRun,
  PdfFixtures,
} from '../support/pdf-fixtures.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPdfThreadPool } from '../../workers/tools/pdf-pool.ts';
import { createPdfToTextRunner } from '../../workers/tools/pdf-to-text.ts';

let root: string;
let fixtures: PdfFixtures;
const pool = createPdfThreadPool();
const runner = createPdfToTextRunner(pool);

beforeAll(async () => {
  fixtures = await PdfFixtures.start('pdf-to-text-');
  root = fixtures.root;
});

afterAll(() => Promise.all([fixtures.close(), pool.close()]));

const htmlToPdf = (name: string, html: string) =>
  fixtures.htmlToPdf(name, html);

function section(text: string): string {
  return `<section style="break-after: page"><p>${text}</p></section>`;
}

const makeRun = (inputPath: string) => makePdfRun(inputPath, root);

describe('pdf-to-text', () => {
  it('separates three pages with form feeds', async () => {
    const input = await htmlToPdf(
      'three.pdf',
      section('Alpha apples') + section('Bravo bananas') + section('Charlie'),
    );
    const { context, progress } = await makeRun(input);

    const output = await runner.run(context);
    const pages = (await readFile(output.path, 'utf8')).split('\f');

    expect(pages).toHaveLength(3);
    expect(pages[0]).toContain('Alpha apples');
    expect(pages[1]).toContain('Bravo bananas');
    expect(pages[2]).toContain('Charlie');
    expect(output.metadata.pages).toBe(3);
    expect(output.metadata.pagesWithoutText).toEqual([]);
    expect(output.metadata.note).toBeUndefined();
    expect(output.name).toBe('report.txt');
    expect(output.contentType).toBe('text/plain; charset=utf-8');
    expect(progress).toEqual([33, 66, 100]);
  });

  it('splits lines of one paragraph', async () => {
    const input = await htmlToPdf(
      'lines.pdf',
      '<p>first line<br>second line</p><p>third line</p>',
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);
    const lines = (await readFile(output.path, 'utf8')).split('\n');

    expect(lines).toContain('first line');
    expect(lines).toContain('second line');
    expect(lines).toContain('third line');
  });

  it('counts characters as code points', async () => {
    const input = await htmlToPdf('unicode.pdf', '<p>Grüße aus Köln</p>');
    const { context } = await makeRun(input);

    const output = await runner.run(context);
    const text = await readFile(output.path, 'utf8');

    expect(text).toBe('Grüße aus Köln');
    expect(output.metadata.characters).toBe(14);
  });

  it('lists an image-only page as without text', async () => {
    const png = await sharp({
      create: { width: 400, height: 300, channels: 3, background: '#3366aa' },
    })
      .png()
      .toBuffer();
    const image = `<img src="data:image/png;base64,${png.toString('base64')}">`;
    const input = await htmlToPdf(
      'scanned.pdf',
      section('Typed text') + `<section>${image}</section>`,
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);

    expect(output.metadata.pages).toBe(2);
    expect(output.metadata.pagesWithoutText).toEqual([2]);
    expect(output.metadata.note).toMatch(/^Page 2 has no text layer/);
    expect(output.metadata.note).toMatch(/not OCRed/);
  });

  it('rejects a corrupt PDF as invalid_input', async () => {
    const input = join(root, 'corrupt.pdf');
    await writeFile(input, randomBytes(4096));
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('accepts a blank one-page PDF', async () => {
    const input = join(root, 'blank.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
      ]),
    );
    const { context } = await makeRun(input);

    const output = await runner.run(context);

    expect(output.emptyAllowed).toBe(true);
    expect(await readFile(output.path, 'utf8')).toBe('');
    expect(output.metadata.pagesWithoutText).toEqual([1]);
  });

  it('rejects a PDF with no pages as invalid_input', async () => {
    const input = join(root, 'empty.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [] /Count 0 >>',
      ]),
    );
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects a circular page tree as invalid_input', async () => {
    const input = join(root, 'circular.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [2 0 R] /Count 1 >>',
      ]),
    );
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('stops a PDF whose stream inflates past the limit', async () => {
    // 400 MB of zeros deflate to about 400 KB.
    const stream = deflateSync(Buffer.alloc(400 * 1024 * 1024), { level: 9 });
    const input = join(root, 'bomb.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R >>',
        `<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n` +
          stream.toString('latin1') +
          '\nendstream',
      ]),
    );
    const limited = createPdfToTextRunner(pool, {
      memoryLimitBytes: 64 * 1024 * 1024,
    });
    const { context } = await makeRun(input);

    const error = await limited.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'resource_limit_exceeded' });
  });

  it('rejects an encrypted PDF as encrypted_pdf', async () => {
    const input = join(root, 'encrypted.pdf');
    await writeFile(input, encryptedPdf());
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'encrypted_pdf' });
  });

  it('rejects more pages than maxPages', async () => {
    const pageCount = 2_001;
    const pageObjects = Array.from(
      { length: pageCount },
      () => '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
    );
    const kids = pageObjects.map((_, index) => `${index + 3} 0 R`).join(' ');
    const input = join(root, 'long.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        `<< /Type /Pages /Kids [${kids}] /Count ${pageCount} >>`,
        ...pageObjects,
      ]),
    );
    const { context } = await makeRun(input);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'page_limit_exceeded' });
    expect((error as Error).message).toContain('2001 pages');
  });

  it('rejects an aborted signal before starting', async () => {
    const input = await htmlToPdf('early.pdf', '<p>never read</p>');
    const { context, controller, progress } = await makeRun(input);
    controller.abort();

    await expect(runner.run(context)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(progress).toEqual([]);
  });

  it('terminates the thread on abort', async () => {
    const paragraph = '<p>Lorem ipsum dolor sit amet. </p>'.repeat(60);
    const input = await htmlToPdf(
      'long-text.pdf',
      Array.from({ length: 60 }, () => section(paragraph)).join(''),
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
