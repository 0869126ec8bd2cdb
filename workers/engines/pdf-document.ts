import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api.js';
import type { PdfThreadMessage } from './pdf-thread.ts';

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
  const document = await asInputError(
    getDocument({
      data,
      standardFontDataUrl: assetDirectory('standard_fonts'),
      cMapUrl: assetDirectory('cmaps'),
      wasmUrl: assetDirectory('wasm'),
      iccUrl: assetDirectory('iccs'),
      // Glyphs render through Path2D without compiling font programs.
      isEvalSupported: false,
      verbosity: 0,
    }).promise,
  );

  if (document.numPages === 0) {
    await document.destroy();
    throw new PdfInputError(
      'The PDF has no pages. Upload a PDF with at least one page.',
      'invalid_input',
    );
  }
  return document;
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
 * Runs a thread's main function and posts its outcome to the parent. A
 * {@link PdfInputError} becomes a failure with its code. Any other error
 * becomes a failure without a code, which the job may retry.
 */
export function runThreadMain<Done extends object, Item>(
  main: (
    post: (message: PdfThreadMessage<Done, Item>) => void,
  ) => Promise<Done>,
): void {
  const port = parentPort;
  if (!port) {
    return;
  }
  const post = (message: PdfThreadMessage<Done, Item>) =>
    port.postMessage(message);

  main(post).then(
    (result) => post({ type: 'done', result }),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      post(
        error instanceof PdfInputError
          ? { type: 'failed', message, code: error.code }
          : { type: 'failed', message },
      );
    },
  );
}
