import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextContent } from 'pdfjs-dist/types/src/display/api.js';

/** The `workerData` of a text-extraction thread. */
export interface PdfTextJob {
  inputPath: string;
  /** Output file for the UTF-8 text, written page by page. */
  outputPath: string;
  maxPages: number;
}

/** Messages a text-extraction thread posts to its parent. */
export type PdfTextMessage =
  | { type: 'progress'; page: number; pages: number }
  | {
      type: 'done';
      pages: number;
      /** Unicode code points in the output, separators included. */
      characters: number;
      /** 1-based numbers of the pages whose text is empty. */
      pagesWithoutText: number[];
    }
  /** `code` is set when the input is unusable, so a retry is pointless. */
  | { type: 'failed'; message: string; code?: string };

const PAGE_SEPARATOR = '\f';

const pdfjsRoot = dirname(
  createRequire(import.meta.url).resolve('pdfjs-dist/package.json'),
);

/** Returns a pdf.js data folder, with the trailing slash pdf.js requires. */
function assetDirectory(name: string): string {
  return join(pdfjsRoot, name) + '/';
}

/**
 * Joins text items into lines. A line ends where pdf.js marks an end of line
 * (`hasEOL`) or where the baseline moves by more than half the glyph height,
 * so superscripts stay on their line.
 */
function pageTextFromItems(items: TextContent['items']): string {
  const lines: string[] = [];
  let line = '';
  let lastY: number | undefined;

  for (const item of items) {
    if (!('str' in item)) {
      continue;
    }

    const y = Number(item.transform[5]);
    const tolerance = Math.max(item.height, 1) / 2;
    if (lastY !== undefined && line !== '' && Math.abs(y - lastY) > tolerance) {
      lines.push(line);
      line = '';
    }

    line += item.str;
    lastY = y;
    if (item.hasEOL) {
      lines.push(line);
      line = '';
    }
  }
  if (line !== '') {
    lines.push(line);
  }

  return lines
    .map((text) => text.trimEnd())
    .join('\n')
    .trim();
}

function inputError(error: unknown): PdfTextMessage {
  const name = error instanceof Error ? error.name : '';
  const detail = error instanceof Error ? error.message : String(error);

  if (name === 'PasswordException') {
    return {
      type: 'failed',
      code: 'encrypted_pdf',
      message:
        'The PDF is encrypted and needs a password to open. Remove the ' +
        'password (for example by printing it to a new PDF) and upload it ' +
        'again.',
    };
  }
  // pdf.js parses in JavaScript and calls no engine that could fail for a
  // passing reason, so any error it throws is caused by the input.
  return {
    type: 'failed',
    code: 'invalid_input',
    message:
      `The file is not a readable PDF (pdf.js: ${detail}). Check that ` +
      'it is a complete, uncorrupted PDF.',
  };
}

async function extractText(
  job: PdfTextJob,
  post: (message: PdfTextMessage) => void,
): Promise<void> {
  const data = new Uint8Array(await readFile(job.inputPath));
  const document = await getDocument({
    data,
    standardFontDataUrl: assetDirectory('standard_fonts'),
    cMapUrl: assetDirectory('cmaps'),
    wasmUrl: assetDirectory('wasm'),
    iccUrl: assetDirectory('iccs'),
    // Compiling font programs with eval is unnecessary for text extraction.
    isEvalSupported: false,
    verbosity: 0,
  }).promise;

  try {
    const pages = document.numPages;
    if (pages === 0) {
      post({
        type: 'failed',
        code: 'invalid_input',
        message: 'The PDF has no pages. Upload a PDF with at least one page.',
      });
      return;
    }
    if (pages > job.maxPages) {
      post({
        type: 'failed',
        code: 'page_limit_exceeded',
        message:
          `The PDF has ${pages} pages, more than the limit of ` +
          `${job.maxPages}. Split it and convert the parts separately.`,
      });
      return;
    }

    const output = await open(job.outputPath, 'w');
    const pagesWithoutText: number[] = [];
    let characters = 0;
    try {
      for (let number = 1; number <= pages; number++) {
        const page = await document.getPage(number);
        const text = pageTextFromItems((await page.getTextContent()).items);
        page.cleanup();

        if (text === '') {
          pagesWithoutText.push(number);
        }
        const chunk = number < pages ? text + PAGE_SEPARATOR : text;
        await output.write(chunk);
        characters += [...chunk].length;
        post({ type: 'progress', page: number, pages });
      }
    } finally {
      await output.close();
    }

    post({ type: 'done', pages, characters, pagesWithoutText });
  } finally {
    await document.destroy();
  }
}

if (parentPort) {
  const port = parentPort;
  const post = (message: PdfTextMessage) => port.postMessage(message);

  extractText(workerData as PdfTextJob, post).catch((error: unknown) => {
    post(inputError(error));
  });
}
