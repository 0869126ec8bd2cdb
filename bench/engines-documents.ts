import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDocx } from '../test/fixtures/make-office.ts';
import type { ApiClient } from './client.ts';
import {
  compareAlternating,
  runJob,
  summarizeJobPhases,
  timeCommand,
  type EngineComparison,
  type JobRun,
} from './engines-common.ts';

/** Settings shared by the document benchmarks. */
export interface DocumentBenchOptions {
  warmupRuns: number;
  measuredRuns: number;
  pollIntervalMs: number;
}

const DOCX_TYPE =
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** Debian's Chromium binary, not the wrapper script, which adds a warning. */
const CHROMIUM = '/usr/lib/chromium/chromium';

/** The whole-job median that `word-to-pdf` should stay under, in ms. */
const DOCX_MAX_MEDIAN_MS = 250;

const PARAGRAPHS = [
  'Quarterly report',
  'Revenue grew in every region this quarter, led by the northern office.',
  'Costs stayed flat because the new build servers replaced older ones.',
  'Next quarter the team plans two releases and one security review.',
];

function checkPdf(bytes: Buffer, source: string): void {
  if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') {
    throw new Error(`${source} did not produce a PDF.`);
  }
}

/**
 * Times a one-page DOCX as a `word-to-pdf` job (warm LibreOffice) against a
 * cold `soffice --convert-to pdf` with a fresh profile directory per run.
 * The profile's creation and LibreOffice's start are part of the cold time.
 */
export async function benchmarkWordToPdf(
  client: ApiClient,
  workDir: string,
  options: DocumentBenchOptions,
): Promise<EngineComparison> {
  const docxPath = join(workDir, 'report.docx');
  await makeDocx(docxPath, PARAGRAPHS);
  const bytes = await readFile(docxPath);
  const input = {
    kind: 'file' as const,
    name: 'report.docx',
    contentType: DOCX_TYPE,
    bytes,
  };
  const jobRuns: JobRun[] = [];

  const comparison = await compareAlternating({
    name: 'word-to-pdf, 1-page DOCX',
    subject: 'whole job: create, upload, poll, download',
    baseline: 'cold soffice --headless --convert-to pdf, fresh profile',
    target: { maxRatio: 0.25, label: 'at least 4x faster' },
    ...options,
    runService: async (run) => {
      const job = await runJob(
        client,
        'word-to-pdf',
        input,
        {},
        options.pollIntervalMs,
      );
      checkPdf(job.output, 'word-to-pdf');
      if (run >= options.warmupRuns) jobRuns.push(job);
      return job.ms;
    },
    runDirect: async (run) => {
      const profile = join(workDir, `soffice-profile-${run}`);
      const outDir = join(workDir, `soffice-out-${run}`);
      const ms = await timeCommand('soffice', [
        `-env:UserInstallation=file://${profile}`,
        ...['--headless', '--norestore', '--convert-to', 'pdf'],
        ...['--outdir', outDir, docxPath],
      ]);
      checkPdf(await readFile(join(outDir, 'report.pdf')), 'soffice');
      await rm(profile, { recursive: true, force: true });
      await rm(outDir, { recursive: true, force: true });
      return ms;
    },
  });

  comparison.extraTargets.push({
    label: `API median under ${DOCX_MAX_MEDIAN_MS} ms`,
    met: comparison.service.medianMs < DOCX_MAX_MEDIAN_MS,
  });
  comparison.details = {
    inputBytes: bytes.length,
    paragraphs: PARAGRAPHS.length,
    apiOutputBytes: jobRuns[0]!.output.length,
    apiPhases: summarizeJobPhases(jobRuns),
  };
  return comparison;
}

/** Builds a one-page HTML document with a heading, a table and styles. */
function onePageHtml(): string {
  const rows = Array.from(
    { length: 12 },
    (_, index) =>
      `<tr><td>Item ${index + 1}</td><td>${(index + 1) * 17} units</td></tr>`,
  ).join('');
  return (
    '<!doctype html><html><head><meta charset="utf-8"><style>' +
    'body{font-family:sans-serif;margin:2cm}h1{color:#234}' +
    'td{border-bottom:1px solid #ccc;padding:4px 12px}</style></head>' +
    '<body><h1>Delivery note</h1><p>' +
    PARAGRAPHS.slice(1).join(' ') +
    `</p><table>${rows}</table></body></html>`
  );
}

/**
 * Arguments of a cold headless Chromium print. The proxy and resolver
 * rules keep every request on the machine, as the service's warm browser
 * does. They do not change the work of rendering a local file.
 */
function chromiumArgs(profile: string, pdfPath: string, htmlPath: string) {
  return [
    ...['--headless', '--no-sandbox', '--disable-gpu'],
    ...['--disable-background-networking', '--no-first-run'],
    '--disable-component-update',
    '--proxy-server=http://127.0.0.1:9',
    '--host-resolver-rules=MAP * ~NOTFOUND',
    `--user-data-dir=${profile}`,
    '--no-pdf-header-footer',
    `--print-to-pdf=${pdfPath}`,
    `file://${htmlPath}`,
  ];
}

/**
 * Times a one-page HTML page as an `html-to-pdf-api` job with inline text
 * (warm Chromium) against a cold `chromium --headless --print-to-pdf` with
 * a fresh user data directory per run.
 */
export async function benchmarkHtmlToPdf(
  client: ApiClient,
  workDir: string,
  options: DocumentBenchOptions,
): Promise<EngineComparison> {
  const html = onePageHtml();
  const htmlPath = join(workDir, 'page.html');
  await writeFile(htmlPath, html);
  const input = { kind: 'text' as const, contentType: 'text/html', text: html };
  const jobRuns: JobRun[] = [];

  const comparison = await compareAlternating({
    name: 'html-to-pdf-api, 1-page HTML',
    subject: 'whole job: create with inline text, poll, download',
    baseline: 'cold chromium --headless --print-to-pdf, fresh profile',
    target: { maxRatio: 0.2, label: 'at least 5x faster' },
    ...options,
    runService: async (run) => {
      const job = await runJob(
        client,
        'html-to-pdf-api',
        input,
        {},
        options.pollIntervalMs,
      );
      checkPdf(job.output, 'html-to-pdf-api');
      if (run >= options.warmupRuns) jobRuns.push(job);
      return job.ms;
    },
    runDirect: async () => {
      const profile = await mkdtemp(join(tmpdir(), 'boringkit-bench-chrome-'));
      const pdfPath = join(workDir, 'chromium.pdf');
      const ms = await timeCommand(
        CHROMIUM,
        chromiumArgs(profile, pdfPath, htmlPath),
      );
      checkPdf(await readFile(pdfPath), 'chromium');
      await rm(profile, { recursive: true, force: true });
      await rm(pdfPath);
      return ms;
    },
  });

  comparison.details = {
    htmlBytes: Buffer.byteLength(html),
    apiOutputBytes: jobRuns[0]!.output.length,
    apiPhases: summarizeJobPhases(jobRuns),
  };
  return comparison;
}
