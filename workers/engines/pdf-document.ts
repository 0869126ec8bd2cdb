import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api.js';
import type { PdfTaskMessage, PdfThreadMessage } from './pdf-thread.ts';

/** A failure whose cause is the input, so a retry is pointless. */
export class PdfInputError extends Error {
  override readonly name = 'PdfInputError';

  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const pdfjsRoot = dirname(
  createRequire(import.meta.url).resolve('pdfjs-dist/package.json'),
);

/** Returns a pdf.js data folder, with the trailing slash pdf.js requires. */
function assetDirectory(name: string): string {
  return join(pdfjsRoot, name) + '/';
}

/**
 * Opens a PDF file with pdf.js inside the current thread. Any error pdf.js
 * raises is thrown as a {@link PdfInputError}: `encrypted_pdf` for a
 * password, `invalid_input` otherwise. A PDF with no pages is
 * `invalid_input` too.
 */
export async function openPdfDocument(
  inputPath: string,
): Promise<PDFDocumentProxy> {
  const data = new Uint8Array(await readFile(inputPath));
  const document = await asInputError(loadPdf(data));

  if (document.numPages === 0) {
    await document.destroy();
    throw new PdfInputError(
      'The PDF has no pages. Upload a PDF with at least one page.',
      'invalid_input',
    );
  }
  return document;
}

function loadPdf(data: Uint8Array): Promise<PDFDocumentProxy> {
  return getDocument({
    data,
    standardFontDataUrl: assetDirectory('standard_fonts'),
    cMapUrl: assetDirectory('cmaps'),
    wasmUrl: assetDirectory('wasm'),
    iccUrl: assetDirectory('iccs'),
    // Glyphs render through Path2D without compiling font programs.
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
}

/**
 * Awaits a pdf.js call and rethrows its error as a {@link PdfInputError}.
 * pdf.js parses in JavaScript and calls no engine that could fail for a
 * passing reason, so any error it raises is caused by the input.
 */
export async function asInputError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw toInputError(error);
  }
}

function toInputError(error: unknown): PdfInputError {
  if (error instanceof PdfInputError) {
    return error;
  }
  const name = error instanceof Error ? error.name : '';
  const detail = error instanceof Error ? error.message : String(error);

  if (name === 'PasswordException') {
    return new PdfInputError(
      'The PDF is encrypted and needs a password to open. Remove the ' +
        'password (for example by printing it to a new PDF) and upload it ' +
        'again.',
      'encrypted_pdf',
    );
  }
  return new PdfInputError(
    `The file is not a readable PDF (pdf.js: ${detail}). Check that it is ` +
      'a complete, uncorrupted PDF.',
    'invalid_input',
  );
}

/** Throws `page_limit_exceeded` when `pages` is over `maxPages`. */
export function checkPageLimit(pages: number, maxPages: number): void {
  if (pages > maxPages) {
    throw new PdfInputError(
      `The PDF has ${pages} pages, more than the limit of ${maxPages}. ` +
        'Split it and convert the parts separately.',
      'page_limit_exceeded',
    );
  }
}

/**
 * A task a pdf.js thread runs: reads `job`, posts progress and items, and
 * resolves with its summary. A {@link PdfInputError} it throws becomes a
 * failure with its code; any other error a failure without one, which the
 * job may retry.
 */
export type PdfThreadTask = (
  job: never,
  post: (message: PdfThreadMessage<object, unknown>) => void,
) => Promise<object>;

/**
 * One page of text, written by hand and repaired by pdf.js when it opens,
 * because the cross-reference table is left out.
 */
const WARM_UP_PDF =
  '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n' +
  '2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n' +
  '3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 50] ' +
  '/Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>>> endobj\n' +
  '4 0 obj <</Length 35>> stream\nBT /F1 12 Tf 10 20 Td (warm) Tj ET\n' +
  'endstream endobj\n' +
  '5 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj\n' +
  'trailer <</Root 1 0 R>>\n%%EOF\n';

/**
 * Loads pdf.js's parser and a standard font by reading the text of a small
 * PDF, so the thread's first job does not pay for it.
 */
async function warmUp(): Promise<void> {
  const document = await loadPdf(new TextEncoder().encode(WARM_UP_PDF));
  try {
    const page = await document.getPage(1);
    await page.getTextContent();
    page.cleanup();
  } finally {
    await document.destroy();
  }
}

/**
 * Serves the parent's task messages in this thread, one task at a time, and
 * posts each task's outcome. It posts `ready` once pdf.js has warmed up.
 */
export function serveThreadTasks(tasks: Record<string, PdfThreadTask>): void {
  const port = parentPort;
  if (!port) {
    return;
  }
  const post = (
    message: PdfThreadMessage<object, unknown> | { type: 'ready' },
  ) => port.postMessage(message);

  port.on('message', (message: PdfTaskMessage) => {
    const task = Object.hasOwn(tasks, message.task)
      ? tasks[message.task]
      : undefined;
    if (!task) {
      post({ type: 'failed', message: `No task named "${message.task}".` });
      return;
    }
    task(message.job as never, post).then(
      (result) => post({ type: 'done', result }),
      (error: unknown) => {
        const text = error instanceof Error ? error.message : String(error);
        post(
          error instanceof PdfInputError
            ? { type: 'failed', message: text, code: error.code }
            : { type: 'failed', message: text },
        );
      },
    );
  });
  // A failed warm-up is an unhandled rejection, which ends the thread, so
  // its start fails.
  void warmUp().then(() => post({ type: 'ready' }));
}
