import { join, parse } from 'node:path';
import { Worker } from 'node:worker_threads';
import { toolLimit } from '../../domain/catalog.ts';
import type { PdfTextJob, PdfTextMessage } from './pdf-text-thread.ts';
import {
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from './tool.ts';

const SLUG = 'pdf-to-text';

type ThreadResult = Extract<PdfTextMessage, { type: 'done' }>;

const tsxApiUrl = import.meta.resolve('tsx/esm/api');
const threadUrl = new URL('./pdf-text-thread.ts', import.meta.url).href;
const parentUrl = import.meta.url;

/**
 * Module source of the extraction thread. Node 20 does not apply `--import
 * tsx` from a Worker's `execArgv` (nodejs/node#47747), so the thread loads
 * its TypeScript entry through tsx's `tsImport` API instead.
 */
const threadBootstrap = [
  `import { tsImport } from ${JSON.stringify(tsxApiUrl)};`,
  `await tsImport(${JSON.stringify(threadUrl)}, ${JSON.stringify(parentUrl)});`,
].join('\n');

/**
 * Heap limit of one extraction thread. A PDF that needs more fails its job
 * instead of ending the whole process.
 * NOTE: an estimate, not measured against the largest allowed input (100 MB).
 */
const THREAD_HEAP_MB = 1024;

/**
 * Default growth of the process's resident memory that one extraction may
 * cause. pdf.js keeps decompressed streams in ArrayBuffers outside the
 * thread's heap limit, so a small PDF whose streams inflate to gigabytes is
 * stopped by this watchdog instead.
 * The growth is measured for the whole process, so concurrent jobs count
 * against it too; the default leaves room for them.
 * NOTE: a terminated thread's memory is not all returned to the system
 * (about 0.5 to 1 GB stayed resident per 2 GB stream, measured), so
 * repeated bombs grow the process; an extraction process would not.
 */
const DEFAULT_MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024;
const MEMORY_CHECK_INTERVAL_MS = 200;

function resourceLimitError(detail: string): InvalidInputError {
  return new InvalidInputError(
    `Extracting the text needs more memory than allowed (${detail}). The ` +
      'PDF may hold streams that inflate to gigabytes; split or re-save it.',
    'resource_limit_exceeded',
  );
}

/**
 * Starts pdf.js in a worker thread, which writes the text to `outputPath`.
 * Resolves with the thread's summary. On abort it terminates the thread and
 * rejects with the signal's reason.
 */
function runTextThread(
  job: PdfTextJob,
  context: ToolRunContext,
  memoryLimitBytes: number,
): Promise<ThreadResult> {
  const { signal } = context;

  return new Promise((resolve, reject) => {
    const source =
      'data:text/javascript,' + encodeURIComponent(threadBootstrap);
    const worker = new Worker(new URL(source), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    let settled = false;
    const baselineRss = process.memoryUsage.rss();
    const watchdog = setInterval(() => {
      const growth = process.memoryUsage.rss() - baselineRss;
      if (growth > memoryLimitBytes) {
        const megabytes = (bytes: number) => Math.round(bytes / 2 ** 20);
        const detail =
          `${megabytes(growth)} MB more resident memory, limit ` +
          `${megabytes(memoryLimitBytes)} MB`;
        settle(() => reject(resourceLimitError(detail)));
      }
    }, MEMORY_CHECK_INTERVAL_MS);

    // Every outcome stops the thread before the promise settles, so no write
    // to the work directory outlives the attempt.
    const settle = (finish: () => void) => {
      if (settled) {
        return;
      }
      settled = true;
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      void worker.terminate().finally(finish);
    };
    const onAbort = () => settle(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (message: PdfTextMessage) => {
      if (message.type === 'progress') {
        context.reportProgress(
          Math.floor((message.page / message.pages) * 100),
        );
      } else if (message.type === 'done') {
        settle(() => resolve(message));
      } else {
        const error = message.code
          ? new InvalidInputError(message.message, message.code)
          : new Error(`PDF text extraction failed: ${message.message}`);
        settle(() => reject(error));
      }
    });
    worker.on('error', (error: NodeJS.ErrnoException) => {
      const cause =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? resourceLimitError(`thread heap over ${THREAD_HEAP_MB} MB`)
          : error;
      settle(() => reject(cause));
    });
    worker.on('exit', (code) => {
      const error = new Error(
        `The PDF text thread exited with code ${code} before it finished.`,
      );
      settle(() => reject(error));
    });
  });
}

function scannedPagesNote(pages: number[]): string {
  const list = pages.join(', ');
  const subject =
    pages.length === 1 ? `Page ${list} has` : `Pages ${list} have`;
  return (
    `${subject} no text layer: scanned or blank pages look like this. ` +
    'They were not OCRed and contribute no text.'
  );
}

/**
 * Creates the `pdf-to-text` tool: the PDF's text layer as UTF-8, a form feed
 * between pages. It fails with `encrypted_pdf` for a password-protected PDF,
 * `invalid_input` for a corrupt one and `page_limit_exceeded` above the
 * catalog's `maxPages`.
 */
export function createPdfToTextRunner(
  settings: { memoryLimitBytes?: number } = {},
): ToolRunner {
  const maxPages = toolLimit(SLUG, 'maxPages');
  const memoryLimitBytes =
    settings.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    context.signal.throwIfAborted();

    const outputPath = join(context.workDir, 'output.txt');
    const result = await runTextThread(
      { inputPath: context.inputPath, outputPath, maxPages },
      context,
      memoryLimitBytes,
    );

    const { pages, characters, pagesWithoutText } = result;
    const metadata: Record<string, unknown> = {
      pages,
      characters,
      pagesWithoutText,
    };
    if (pagesWithoutText.length > 0) {
      metadata.note = scannedPagesNote(pagesWithoutText);
    }

    return {
      path: outputPath,
      name: `${parse(context.input.name).name || 'output'}.txt`,
      contentType: 'text/plain; charset=utf-8',
      emptyAllowed: true,
      metadata,
    };
  }

  return { slug: SLUG, run };
}
