import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import type { PdfThreadPool } from '../workers/engines/pdf-thread.ts';
import { createPdfThreadPool } from '../workers/tools/pdf-pool.ts';
import { createPdfToImagesZipRunner } from '../workers/tools/pdf-to-images-zip.ts';
import { createPdfToTextRunner } from '../workers/tools/pdf-to-text.ts';
import type { ToolRunContext, ToolRunner } from '../workers/tool.ts';
import type { ApiClient } from './client.ts';
import {
  compareAlternating,
  runJob,
  timeCommand,
  type EngineComparison,
} from './engines-common.ts';
import { median, round, timeMs } from './stats.ts';

/** Settings of the PDF engine benchmarks. */
export interface PdfBenchOptions {
  pages: number;
  warmupRuns: number;
  measuredRuns: number;
}

const DPI = 150;

function pageHtml(page: number): string {
  const sentences = Array.from(
    { length: 14 },
    (_, index) =>
      `Paragraph ${index + 1} of page ${page} describes shipment ` +
      `${page * 100 + index}, its route, its weight of ${index * 37} kg ` +
      'and the customs forms that travel with it.',
  );
  return (
    '<section style="break-after: page">' +
    `<h1 style="color:#236">Section ${page}</h1>` +
    sentences.map((sentence) => `<p>${sentence}</p>`).join('') +
    '</section>'
  );
}

/**
 * Writes a PDF of `pages` A4 pages of text, rendered by the service's own
 * `html-to-pdf-api` job, so the file is what Chromium produces.
 */
async function makePdf(
  client: ApiClient,
  path: string,
  pages: number,
): Promise<number> {
  const sections = Array.from({ length: pages }, (_, index) =>
    pageHtml(index + 1),
  ).join('');
  const { output } = await runJob(
    client,
    'html-to-pdf-api',
    { kind: 'text', contentType: 'text/html', text: sections },
    {},
    20,
  );
  await writeFile(path, output);
  return output.length;
}

/**
 * Times one call of `runner.run` with a context like the worker builds, on
 * a fresh work directory. Creating and removing the directory is not timed.
 */
async function timeRunner(
  runner: ToolRunner,
  pdfPath: string,
  workRoot: string,
  options: Record<string, unknown>,
  expected: { pages: number },
): Promise<number> {
  const workDir = await mkdtemp(join(workRoot, 'runner-'));
  const context: ToolRunContext = {
    jobId: 'job_bench',
    attempt: 1,
    input: {
      kind: 'file',
      name: 'shipments.pdf',
      contentType: 'application/pdf',
      sizeBytes: (await stat(pdfPath)).size,
    },
    inputPath: pdfPath,
    options,
    workDir,
    signal: new AbortController().signal,
    reportProgress: () => undefined,
    logger: pino({ level: 'silent' }),
  };
  let pages: unknown;
  const ms = await timeMs(async () => {
    const output = await runner.run(context);
    pages = output.metadata.pages;
  });
  await rm(workDir, { recursive: true, force: true });
  if (pages !== undefined && pages !== expected.pages) {
    throw new Error(
      `${runner.slug} read ${String(pages)} pages, expected ${expected.pages}.`,
    );
  }
  return ms;
}

/**
 * Returns the median runner time on a one-page PDF, which estimates the
 * fixed cost of a run: starting the thread and loading pdf.js.
 */
async function medianOnePageMs(
  runner: ToolRunner,
  pdfPath: string,
  workRoot: string,
  options: Record<string, unknown>,
  runs: number,
): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    samples.push(
      await timeRunner(runner, pdfPath, workRoot, options, { pages: 1 }),
    );
  }
  return round(median(samples));
}

/**
 * Times the engine step of `pdf-to-text` and `pdf-to-images-zip` (the
 * runner, called directly, with its pdf.js worker thread) against
 * poppler's `pdftotext` and `pdftoppm -png -r 150` on the same PDF.
 */
export async function benchmarkPdfEngines(
  client: ApiClient,
  workDir: string,
  options: PdfBenchOptions,
): Promise<EngineComparison[]> {
  const pool = createPdfThreadPool();
  try {
    return await comparePdfEngines(pool, client, workDir, options);
  } finally {
    await pool.close();
  }
}

async function comparePdfEngines(
  pool: PdfThreadPool,
  client: ApiClient,
  workDir: string,
  options: PdfBenchOptions,
): Promise<EngineComparison[]> {
  const pdfPath = join(workDir, 'shipments.pdf');
  const pdfBytes = await makePdf(client, pdfPath, options.pages);
  const runs = {
    warmupRuns: options.warmupRuns,
    measuredRuns: options.measuredRuns,
  };
  const expected = { pages: options.pages };
  const details = { pages: options.pages, pdfBytes };

  const textRunner = createPdfToTextRunner(pool);
  const text = await compareAlternating({
    name: `pdf-to-text engine, ${options.pages}-page PDF`,
    subject: 'createPdfToTextRunner(pool).run() on a warm pdf.js thread',
    baseline: 'pdftotext in.pdf out.txt',
    target: { maxRatio: 2, label: 'within 2x' },
    ...runs,
    runService: () => timeRunner(textRunner, pdfPath, workDir, {}, expected),
    runDirect: async () => {
      const outPath = join(workDir, 'poppler.txt');
      const ms = await timeCommand('pdftotext', [pdfPath, outPath]);
      await rm(outPath);
      return ms;
    },
  });

  const imagesRunner = createPdfToImagesZipRunner(pool);
  const images = await compareAlternating({
    name: `pdf-to-images-zip engine, ${options.pages}-page PDF, ${DPI} dpi`,
    subject: 'createPdfToImagesZipRunner(pool).run(), PNGs zipped',
    baseline: `pdftoppm -png -r ${DPI} in.pdf prefix`,
    target: { maxRatio: 2, label: 'within 2x' },
    ...runs,
    runService: () =>
      timeRunner(imagesRunner, pdfPath, workDir, { dpi: DPI }, expected),
    runDirect: async () => {
      const outDir = await mkdtemp(join(workDir, 'pdftoppm-'));
      const ms = await timeCommand('pdftoppm', [
        ...['-png', '-r', String(DPI)],
        ...[pdfPath, join(outDir, 'page')],
      ]);
      const files = await readdir(outDir);
      await rm(outDir, { recursive: true, force: true });
      if (files.length !== options.pages) {
        throw new Error(
          `pdftoppm wrote ${files.length} files, expected ${options.pages}.`,
        );
      }
      return ms;
    },
  });

  const onePagePath = join(workDir, 'one-page.pdf');
  await makePdf(client, onePagePath, 1);
  const onePageRuns = 5;
  text.details = {
    ...details,
    onePageMedianMs: await medianOnePageMs(
      textRunner,
      onePagePath,
      workDir,
      {},
      onePageRuns,
    ),
    onePageRuns,
  };
  images.details = {
    ...details,
    onePageMedianMs: await medianOnePageMs(
      imagesRunner,
      onePagePath,
      workDir,
      { dpi: DPI },
      onePageRuns,
    ),
    onePageRuns,
  };
  return [text, images];
}
