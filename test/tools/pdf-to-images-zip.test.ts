import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  buildPdf,
  encryptedPdf,
  makePdfRun,
  PdfFixtures,
} from '../support/pdf-fixtures.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPdfThreadPool } from '../../workers/tools/pdf-pool.ts';
import { createPdfToImagesZipRunner } from '../../workers/tools/pdf-to-images-zip.ts';

const execFileAsync = promisify(execFile);

let root: string;
let fixtures: PdfFixtures;
const pool = createPdfThreadPool();
const runner = createPdfToImagesZipRunner(pool);

/** A4 in PostScript points, as Chromium prints it. */
const A4_POINTS = { width: 595.92, height: 842.88 };

beforeAll(async () => {
  fixtures = await PdfFixtures.start('pdf-to-images-zip-');
  root = fixtures.root;
});

afterAll(() => Promise.all([fixtures.close(), pool.close()]));

const htmlToPdf = (name: string, html: string) =>
  fixtures.htmlToPdf(name, html);

function pagesHtml(count: number): string {
  return Array.from(
    { length: count },
    (_, index) =>
      `<section style="break-after: page"><h1>Page ${index + 1}</h1></section>`,
  ).join('');
}

/** Distance in pixels between a PNG's size and the expected size. */
function offBy(actual: number | undefined, expected: number): number {
  return Math.abs((actual ?? 0) - expected);
}

/** Size of page 1 as poppler's pdftoppm renders it at `dpi`. */
async function pdftoppmSize(pdf: string, dpi: number): Promise<number[]> {
  const prefix = join(await mkdtemp(join(root, 'poppler-')), 'page');
  const args = ['-r', String(dpi), '-f', '1', '-l', '1', '-png', pdf, prefix];
  await execFileAsync('pdftoppm', [...args, '-singlefile']);
  const size = await sharp(`${prefix}.png`).metadata();
  return [size.width, size.height];
}

async function zipEntries(path: string): Promise<string[]> {
  const { stdout } = await execFileAsync('unzip', ['-Z1', path]);
  return stdout.split('\n').filter((line) => line !== '');
}

async function zipEntry(path: string, name: string): Promise<Buffer> {
  const { stdout } = await execFileAsync('unzip', ['-p', path, name], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

const makeRun = (inputPath: string, options: Record<string, unknown> = {}) =>
  makePdfRun(inputPath, root, { dpi: 150, ...options });

describe('pdf-to-images-zip', () => {
  it('renders every page as a PNG', async () => {
    const input = await htmlToPdf('three.pdf', pagesHtml(3));
    const { context, progress } = await makeRun(input);

    const output = await runner.run(context);
    const entries = await zipEntries(output.path);
    const png = await sharp(
      await zipEntry(output.path, 'page-002.png'),
    ).metadata();

    expect(entries).toEqual(['page-001.png', 'page-002.png', 'page-003.png']);
    await expect(
      execFileAsync('unzip', ['-tq', output.path]),
    ).resolves.toMatchObject({ stdout: expect.stringMatching(/^No errors/) });
    expect(png.format).toBe('png');
    expect(offBy(png.width, (A4_POINTS.width * 150) / 72)).toBeLessThanOrEqual(
      1,
    );
    expect(
      offBy(png.height, (A4_POINTS.height * 150) / 72),
    ).toBeLessThanOrEqual(1);
    expect([png.width, png.height]).toEqual(await pdftoppmSize(input, 150));
    expect(output.name).toBe('report-pages.zip');
    expect(output.contentType).toBe('application/zip');
    expect(progress).toEqual([33, 66, 100]);
  });

  it('describes each image in the metadata', async () => {
    const input = await htmlToPdf('two.pdf', pagesHtml(2));
    const { context } = await makeRun(input, { dpi: 72 });

    const output = await runner.run(context);
    const png = await zipEntry(output.path, 'page-001.png');
    const size = await sharp(png).metadata();

    expect(output.metadata.pages).toBe(2);
    expect(output.metadata.dpi).toBe(72);
    expect(output.metadata.images).toEqual([
      {
        name: 'page-001.png',
        page: 1,
        width: size.width,
        height: size.height,
        sizeBytes: png.length,
      },
      expect.objectContaining({ name: 'page-002.png', page: 2 }),
    ]);
  });

  it('scales the image with the dpi', async () => {
    const input = join(root, 'square.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 72] >>',
      ]),
    );
    const { context } = await makeRun(input, { dpi: 300 });

    const output = await runner.run(context);
    const size = await sharp(
      await zipEntry(output.path, 'page-001.png'),
    ).metadata();

    expect(size.width).toBe(600);
    expect(size.height).toBe(300);
  });

  it('renders only the selected pages', async () => {
    const input = await htmlToPdf('five.pdf', pagesHtml(5));
    const { context } = await makeRun(input, { dpi: 72, pages: '4,1-2,2' });

    const output = await runner.run(context);

    expect(await zipEntries(output.path)).toEqual([
      'page-001.png',
      'page-002.png',
      'page-004.png',
    ]);
    expect(output.metadata.pages).toBe(3);
  });

  it('rejects a range past the last page', async () => {
    const input = await htmlToPdf('short.pdf', pagesHtml(2));
    const { context } = await makeRun(input, { pages: '1-3' });

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_options' });
    expect((error as Error).message).toContain('has 2 pages');
  });

  it('rejects a reversed range', async () => {
    const input = await htmlToPdf('reversed.pdf', pagesHtml(2));
    const { context } = await makeRun(input, { pages: '2-1' });

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_options' });
  });

  it('rejects pages over the pixel limit', async () => {
    // 14400 x 14400 points at 300 dpi is 60000 x 60000 = 3.6e9 pixels,
    // over the catalog's 5e8, and would need 14 GB if it were rendered.
    const input = join(root, 'huge.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>',
      ]),
    );
    const { context, progress } = await makeRun(input, { dpi: 300 });

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'pixel_limit_exceeded' });
    expect(progress).toEqual([]);
  });

  it('renders a blank page white', async () => {
    const input = join(root, 'blank.pdf');
    await writeFile(
      input,
      buildPdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>',
      ]),
    );
    const { context } = await makeRun(input, { dpi: 72 });

    const output = await runner.run(context);
    const png = await zipEntry(output.path, 'page-001.png');
    const stats = await sharp(png).stats();

    expect(stats.channels[0]?.min).toBe(255);
    expect(stats.channels[2]?.min).toBe(255);
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
    const input = await htmlToPdf('long.pdf', pagesHtml(40));
    const { context, controller, progress } = await makeRun(input, {
      dpi: 300,
    });
    const running = runner.run(context).catch((caught: unknown) => caught);

    await expect
      .poll(() => progress.length, { timeout: 15_000 })
      .toBeGreaterThan(0);
    const abortedAt = Date.now();
    controller.abort();
    const error = await running;
    const abortMs = Date.now() - abortedAt;
    const reportsAtAbort = progress.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(abortMs).toBeLessThan(1_000);
    // A thread still running would keep posting one report per page.
    expect(progress.length).toBe(reportsAtAbort);
    expect(progress.at(-1)).toBeLessThan(100);
  });
});
