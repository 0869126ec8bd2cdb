import { Worker } from 'node:worker_threads';
import { InvalidInputError, type ToolRunContext } from '../tool.ts';

/**
 * Messages a pdf.js thread posts to its parent. `Done` is the thread's
 * summary and `Item` a partial result (one page's content) that the parent
 * handles as it arrives.
 */
export type PdfThreadMessage<Done extends object, Item = never> =
  | { type: 'progress'; page: number; pages: number }
  | { type: 'item'; item: Item }
  | { type: 'done'; result: Done }
  /** `code` is set when the input is unusable, so a retry is pointless. */
  | { type: 'failed'; message: string; code?: string };

/** How to start one pdf.js thread and what to do with its messages. */
export interface PdfThreadRequest<Job, Item> {
  /** `import.meta.url`-based URL of the thread's TypeScript module. */
  threadUrl: URL;
  /** The thread's `workerData`, which must survive structured cloning. */
  job: Job;
  context: ToolRunContext;
  /**
   * Allowed growth of the process's resident memory, in bytes. Defaults to
   * DEFAULT_PDF_MEMORY_LIMIT_BYTES.
   */
  memoryLimitBytes?: number;
  /** Name of the thread's work in error messages: "Rendering the pages". */
  task: string;
  onItem?: (item: Item) => void;
}

/**
 * Heap limit of one pdf.js thread. A PDF that needs more fails its job
 * instead of ending the whole process.
 * NOTE: an estimate, not measured against the largest allowed input (100 MB).
 */
const THREAD_HEAP_MB = 1024;

/**
 * Default growth of the process's resident memory that one thread may cause.
 * pdf.js keeps decompressed streams in ArrayBuffers, and @napi-rs/canvas its
 * pixels in native memory, both outside the thread's heap limit, so this
 * watchdog stops what the heap limit cannot see. Concurrent jobs count
 * against the same process-wide growth, and the default leaves room for them.
 * NOTE: a terminated thread's memory is not all returned to the system, so
 * repeated memory bombs grow the process; a separate process would not.
 */
export const DEFAULT_PDF_MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024;

const MEMORY_CHECK_INTERVAL_MS = 200;

const tsxApiUrl = import.meta.resolve('tsx/esm/api');

/**
 * Module source that loads a TypeScript thread module. Node 20 does not
 * apply `--import tsx` from a Worker's `execArgv` (nodejs/node#47747), so the
 * thread loads its entry through tsx's `tsImport` API instead.
 */
function bootstrapSource(threadUrl: URL): string {
  const lines = [
    `import { tsImport } from ${JSON.stringify(tsxApiUrl)};`,
    `await tsImport(${JSON.stringify(threadUrl.href)}, ` +
      `${JSON.stringify(import.meta.url)});`,
  ];
  return 'data:text/javascript,' + encodeURIComponent(lines.join('\n'));
}

function resourceLimitError(task: string, detail: string): InvalidInputError {
  return new InvalidInputError(
    `${task} needs more memory than allowed (${detail}). The PDF may hold ` +
      'streams that inflate to gigabytes or very large pages; split or ' +
      're-save it.',
    'resource_limit_exceeded',
  );
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

/**
 * Runs a pdf.js thread module to its end and resolves with its summary.
 * Progress goes to `context.reportProgress`. On abort the thread is
 * terminated and the promise rejects with the signal's reason. A thread over
 * its heap or the memory limit fails with `resource_limit_exceeded`.
 */
export function runPdfThread<Job, Done extends object, Item = never>(
  request: PdfThreadRequest<Job, Item>,
): Promise<Done> {
  const { context, task } = request;
  const memoryLimitBytes =
    request.memoryLimitBytes ?? DEFAULT_PDF_MEMORY_LIMIT_BYTES;
  const { signal } = context;

  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(bootstrapSource(request.threadUrl)), {
      workerData: request.job,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    let settled = false;

    const baselineRss = process.memoryUsage.rss();
    const watchdog = setInterval(() => {
      const growth = process.memoryUsage.rss() - baselineRss;
      if (growth > memoryLimitBytes) {
        const detail =
          `${megabytes(growth)} MB more resident memory, limit ` +
          `${megabytes(memoryLimitBytes)} MB`;
        settle(() => reject(resourceLimitError(task, detail)));
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

    worker.on('message', (message: PdfThreadMessage<Done, Item>) => {
      if (settled) {
        return;
      }
      switch (message.type) {
        case 'progress':
          context.reportProgress(
            Math.floor((message.page / message.pages) * 100),
          );
          break;
        case 'item':
          try {
            request.onItem?.(message.item);
          } catch (error) {
            settle(() => reject(error));
          }
          break;
        case 'done':
          settle(() => resolve(message.result));
          break;
        case 'failed': {
          const error = message.code
            ? new InvalidInputError(message.message, message.code)
            : new Error(`${task} failed: ${message.message}`);
          settle(() => reject(error));
        }
      }
    });
    worker.on('error', (error: NodeJS.ErrnoException) => {
      const cause =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? resourceLimitError(task, `thread heap over ${THREAD_HEAP_MB} MB`)
          : error;
      settle(() => reject(cause));
    });
    worker.on('exit', (code) => {
      const error = new Error(
        `The thread for "${task}" exited with code ${code} before it ` +
          'finished.',
      );
      settle(() => reject(error));
    });
  });
}
