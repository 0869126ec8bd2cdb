import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { InvalidInputError, type ToolRunContext } from '../tool.ts';

/**
 * Messages a pdf.js thread posts to its parent. `Done` is the summary of a
 * task and `Item` a partial result (one page's content) that the parent
 * handles as it arrives. A thread posts `ready` once, after its start.
 */
export type PdfThreadMessage<Done extends object, Item = never> =
  | { type: 'progress'; page: number; pages: number }
  | { type: 'item'; item: Item }
  | { type: 'done'; result: Done }
  /** `code` is set when the input is unusable, so a retry is pointless. */
  | { type: 'failed'; message: string; code?: string };

/** A request from the parent to a thread to run one task on one input. */
export interface PdfTaskMessage {
  type: 'run';
  task: string;
  job: unknown;
}

/** One task for a pooled pdf.js thread and what to do with its messages. */
export interface PdfTaskRequest<Job, Item> {
  /** Name under which the thread module registered the task. */
  task: string;
  /** The task's input, which must survive structured cloning. */
  job: Job;
  context: ToolRunContext;
  /**
   * Allowed growth of the process's resident memory, in bytes. Defaults to
   * DEFAULT_PDF_MEMORY_LIMIT_BYTES.
   */
  memoryLimitBytes?: number;
  /** Name of the task in error messages: "Rendering the pages". */
  label: string;
  onItem?: (item: Item) => void;
}

export interface PdfThreadPoolOptions {
  /** `import.meta.url`-based URL of the TypeScript module threads run. */
  threadUrl: URL;
  /** Maximum number of threads. Defaults to the CPU count, at most 2. */
  size?: number;
  /** Tasks after which a thread is replaced. Defaults to 100. */
  maxTasksPerThread?: number;
  logger?: Logger;
}

/**
 * Heap limit of one pdf.js thread. A PDF that needs more fails its job
 * instead of ending the whole process.
 * NOTE: an estimate, not measured against the largest allowed input (100 MB).
 */
const THREAD_HEAP_MB = 1024;

/**
 * Default growth of the process's resident memory that one task may cause.
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

function resourceLimitError(label: string, detail: string): InvalidInputError {
  return new InvalidInputError(
    `${label} needs more memory than allowed (${detail}). The PDF may hold ` +
      'streams that inflate to gigabytes or very large pages; split or ' +
      're-save it.',
    'resource_limit_exceeded',
  );
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

/** Receives what a thread reports while it runs one task. */
interface TaskListener {
  message(message: PdfThreadMessage<object, unknown>): void;
  /** The thread failed or exited; it is gone. */
  died(error: Error): void;
}

interface Waiter {
  resolve(thread: PooledThread): void;
  reject(error: unknown): void;
}

interface PooledThread {
  worker: Worker;
  /** Resolves when the thread has loaded its modules and warmed pdf.js. */
  ready: Promise<void>;
  tasks: number;
  listener: TaskListener | undefined;
}

/**
 * Long-lived worker threads that run pdf.js tasks one at a time each, so a
 * job does not pay for starting a thread and loading pdf.js. A thread is
 * replaced after `maxTasksPerThread` tasks and terminated, not reused, when
 * its task is aborted, runs over a memory limit or breaks the thread.
 */
export class PdfThreadPool {
  readonly #threadUrl: URL;
  readonly #size: number;
  readonly #maxTasksPerThread: number;
  readonly #logger: Logger | undefined;
  readonly #idle: PooledThread[] = [];
  readonly #all = new Set<PooledThread>();
  readonly #waiters: Waiter[] = [];
  /** Threads being started, counted against the size. */
  #starting = 0;
  #closed = false;

  constructor(options: PdfThreadPoolOptions) {
    this.#threadUrl = options.threadUrl;
    this.#size = options.size ?? Math.min(2, availableParallelism());
    this.#maxTasksPerThread = options.maxTasksPerThread ?? 100;
    this.#logger = options.logger;
  }

  /**
   * Runs `request.task` on a free thread, waiting for one when all are busy,
   * and resolves with the task's summary. Progress goes to
   * `context.reportProgress`. On abort the thread is terminated and the
   * promise rejects with the signal's reason. A task over its heap or the
   * memory limit fails with `resource_limit_exceeded`.
   */
  async run<Job, Done extends object, Item = never>(
    request: PdfTaskRequest<Job, Item>,
  ): Promise<Done> {
    const { signal } = request.context;
    signal.throwIfAborted();
    const thread = await this.#acquire(signal);
    // A thread that was still starting does not watch the signal.
    if (signal.aborted) {
      this.#release(thread);
      throw signal.reason;
    }
    return this.#runOn<Job, Done, Item>(thread, request);
  }

  /** Terminates every thread. A later task starts new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
    this.#closed = false;
  }

  async #acquire(signal: AbortSignal): Promise<PooledThread> {
    const idle = this.#idle.pop();
    if (idle) {
      return idle;
    }
    if (this.#all.size + this.#starting < this.#size) {
      return this.#start();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (thread) => {
          signal.removeEventListener('abort', onAbort);
          resolve(thread);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async #start(): Promise<PooledThread> {
    this.#starting++;
    try {
      const worker = new Worker(new URL(bootstrapSource(this.#threadUrl)), {
        resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
      });
      const thread: PooledThread = {
        worker,
        ready: new Promise((resolve, reject) => {
          const onReady = (message: { type?: string }) => {
            if (message.type === 'ready') {
              worker.off('message', onReady);
              resolve();
            }
          };
          worker.on('message', onReady);
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new Error(`The pdf.js thread exited with code ${code}.`)),
          );
        }),
        tasks: 0,
        listener: undefined,
      };
      worker.on('message', (message: PdfThreadMessage<object, unknown>) => {
        thread.listener?.message(message);
      });
      worker.on('error', (error) => this.#died(thread, error));
      worker.on('exit', (code) =>
        this.#died(thread, new Error(`exited with code ${code}`)),
      );
      await thread.ready;
      this.#all.add(thread);
      this.#logger?.info({ threadId: worker.threadId }, 'pdf.js thread ready');
      return thread;
    } finally {
      this.#starting--;
    }
  }

  #died(thread: PooledThread, error: Error): void {
    const known = this.#all.delete(thread);
    const idleIndex = this.#idle.indexOf(thread);
    if (idleIndex >= 0) {
      this.#idle.splice(idleIndex, 1);
    }
    const listener = thread.listener;
    thread.listener = undefined;
    listener?.died(error);
    if (known && !listener && !this.#closed) {
      this.#logger?.warn(
        { threadId: thread.worker.threadId, err: error },
        'idle pdf.js thread stopped',
      );
    }
    this.#serveWaiter();
  }

  /**
   * Hands a thread whose task ended by itself to the next waiter, or keeps
   * it idle. A worn-out thread is replaced instead.
   */
  #release(thread: PooledThread): void {
    thread.listener = undefined;
    if (thread.tasks >= this.#maxTasksPerThread) {
      void this.#retire(thread);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(thread);
    } else {
      this.#idle.push(thread);
    }
  }

  /** Terminates a thread and lets a waiter start a new one. */
  async #retire(thread: PooledThread): Promise<void> {
    this.#all.delete(thread);
    thread.listener = undefined;
    await thread.worker.terminate();
    this.#serveWaiter();
  }

  /** Starts a thread for the oldest waiter when there is room for one. */
  #serveWaiter(): void {
    if (
      this.#waiters.length === 0 ||
      this.#all.size + this.#starting >= this.#size
    ) {
      return;
    }
    const waiter = this.#waiters.shift();
    this.#start().then(waiter?.resolve, (error: unknown) => {
      this.#logger?.error({ err: error }, 'pdf.js thread failed to start');
      waiter?.reject(error);
    });
  }

  #runOn<Job, Done extends object, Item>(
    thread: PooledThread,
    request: PdfTaskRequest<Job, Item>,
  ): Promise<Done> {
    const { context, label } = request;
    const { signal } = context;
    const memoryLimitBytes =
      request.memoryLimitBytes ?? DEFAULT_PDF_MEMORY_LIMIT_BYTES;

    return new Promise((resolve, reject) => {
      let settled = false;
      const baselineRss = process.memoryUsage.rss();
      const watchdog = setInterval(() => {
        const growth = process.memoryUsage.rss() - baselineRss;
        if (growth > memoryLimitBytes) {
          const detail =
            `${megabytes(growth)} MB more resident memory, limit ` +
            `${megabytes(memoryLimitBytes)} MB`;
          fail(resourceLimitError(label, detail));
        }
      }, MEMORY_CHECK_INTERVAL_MS);

      // A thread whose task did not end cleanly is terminated before the
      // promise settles, so no write to the work directory outlives the
      // attempt.
      const settle = (reusable: boolean, finish: () => void) => {
        if (settled) {
          return;
        }
        settled = true;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        if (reusable) {
          this.#release(thread);
          finish();
        } else {
          void this.#retire(thread).finally(finish);
        }
      };
      const fail = (error: unknown) => settle(false, () => reject(error));
      const onAbort = () => fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });

      thread.listener = {
        message: (message) => {
          switch (message.type) {
            case 'progress':
              context.reportProgress(
                Math.floor((message.page / message.pages) * 100),
              );
              break;
            case 'item':
              try {
                request.onItem?.(message.item as Item);
              } catch (error) {
                fail(error);
              }
              break;
            case 'done':
              settle(true, () => resolve(message.result as Done));
              break;
            case 'failed': {
              // A failure without a code is unexpected, so the thread that
              // raised it is not trusted with another task.
              const error = message.code
                ? new InvalidInputError(message.message, message.code)
                : new Error(`${label} failed: ${message.message}`);
              settle(Boolean(message.code), () => reject(error));
            }
          }
        },
        died: (error: NodeJS.ErrnoException) => {
          const cause =
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? resourceLimitError(
                  label,
                  `thread heap over ${THREAD_HEAP_MB} MB`,
                )
              : new Error(
                  `The pdf.js thread for "${label}" stopped before it ` +
                    `finished: ${error.message}`,
                );
          fail(cause);
        },
      };
      thread.tasks++;
      const task: PdfTaskMessage = {
        type: 'run',
        task: request.task,
        job: request.job,
      };
      thread.worker.postMessage(task);
    });
  }
}
