import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { contentTypeOf } from './content-types.ts';
import { ApiError, BoringKitError, JobFailedError } from './errors.ts';
import { HttpTransport, sleep, type RetryPolicy } from './http.ts';
import {
  openDownload,
  putUpload,
  saveDownload,
  sourceSize,
  type TransferOptions,
  type UploadSource,
} from './transfer.ts';
import type {
  CreateJobRequest,
  Credits,
  DownloadIntent,
  Job,
  JobEvent,
  JobPage,
  JobStatus,
  Tool,
  TransferProgress,
  UploadReceipt,
  CreateWidgetTokenRequest,
  WidgetToken,
} from './types.ts';
import { followJobStream, isFinal } from './wait.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ClientOptions {
  /** Origin of the API, http://127.0.0.1:8080 by default. */
  url?: string;
  apiKey: string;
  /** Retry policy of safe requests, as {@link BoringKitClient} describes. */
  retry?: Partial<RetryPolicy>;
  /** Timeout of one API request in ms. Uploads and downloads have none. */
  timeoutMs?: number;
  /** Interval of status polls when the WebSocket is unavailable, in ms. */
  pollIntervalMs?: number;
  /** Whether waitForJob tries the WebSocket stream before polling. */
  webSocket?: boolean;
}

export interface WaitOptions {
  /** Called with the job on every change seen. */
  onUpdate?: (job: Job) => void;
  signal?: AbortSignal;
}

export interface ConvertOptions extends WaitOptions {
  /**
   * Output path, or a function of the finished job that returns one. It
   * defaults to the output's name in the current directory.
   */
  output?: string | ((job: Job) => string | Promise<string>);
  options?: Record<string, unknown>;
  /** Content type of the input, guessed from the extension when omitted. */
  contentType?: string;
  /** File name sent to the tool, the input's base name by default. */
  name?: string;
  idempotencyKey?: string;
  onJob?: (job: Job) => void;
  onUploadProgress?: (progress: TransferProgress) => void;
  onDownloadProgress?: (progress: TransferProgress) => void;
}

const encode = encodeURIComponent;

/**
 * A typed client of the BoringKit Jobs API for Node 20 and later.
 *
 * Retries: GET requests, and POST /v1/jobs because it always carries an
 * Idempotency-Key, are retried with exponential backoff and jitter after a
 * network error, a timeout, 408, 429, 500, 502, 503 or 504. A retried create
 * with the same key returns the job the first try made, so a job is never
 * created twice. Close is retried too because closing twice changes
 * nothing. Cancel is not: a retry after a lost reply would fail with
 * JOB_NOT_CANCELABLE. The PUT of an upload is never retried. A repeated PUT
 * after a lost reply is rejected (the job no longer awaits an upload), and
 * a stream source cannot be replayed, so a failed upload throws and the
 * caller decides.
 */
export class BoringKitClient {
  private readonly http: HttpTransport;
  private readonly pollIntervalMs: number;
  private readonly webSocket: boolean;

  constructor(options: ClientOptions) {
    if (!options.apiKey) {
      throw new BoringKitError(
        'apiKey is missing. Pass the API key of your workspace.',
      );
    }
    this.http = new HttpTransport({
      baseUrl: options.url ?? DEFAULT_URL,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 30_000,
      retry: {
        retries: 3,
        baseDelayMs: 250,
        maxDelayMs: 5_000,
        ...options.retry,
      },
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.webSocket = options.webSocket ?? true;
  }

  private async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const result = await this.http.request<T>('GET', path, {
      retryable: true,
      signal,
    });
    return result.body;
  }

  private async post<T>(path: string, retryable: boolean): Promise<T> {
    const result = await this.http.request<T>('POST', path, { retryable });
    return result.body;
  }

  async listTools(): Promise<Tool[]> {
    return (await this.get<{ data: Tool[] }>('/v1/tools')).data;
  }

  getTool(slug: string): Promise<Tool> {
    return this.get(`/v1/tools/${encode(slug)}`);
  }

  /**
   * Creates a job. Without an `idempotencyKey` the client makes one, so its
   * own retries cannot create a second job.
   */
  async createJob(
    request: CreateJobRequest,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<{ job: Job; replayed: boolean; idempotencyKey: string }> {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    const result = await this.http.request<Job>('POST', '/v1/jobs', {
      body: request,
      headers: { 'idempotency-key': idempotencyKey },
      retryable: true,
      signal: options.signal,
    });
    const replayed = result.headers.get('idempotent-replayed') === 'true';
    return { job: result.body, replayed, idempotencyKey };
  }

  getJob(jobId: string, signal?: AbortSignal): Promise<Job> {
    return this.get(`/v1/jobs/${encode(jobId)}`, signal);
  }

  /** One page of jobs, newest first, without closed ones. */
  listJobs(
    query: { status?: JobStatus; limit?: number; cursor?: string } = {},
  ): Promise<JobPage> {
    const parameters = new URLSearchParams();
    if (query.status) parameters.set('status', query.status);
    if (query.limit) parameters.set('limit', String(query.limit));
    if (query.cursor) parameters.set('cursor', query.cursor);
    const search = parameters.size > 0 ? `?${parameters}` : '';
    return this.get(`/v1/jobs${search}`);
  }

  /** Iterates over jobs page by page, following nextCursor. */
  async *iterateJobs(
    query: { status?: JobStatus; pageSize?: number } = {},
  ): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({
        status: query.status,
        limit: query.pageSize,
        cursor,
      });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async listEvents(jobId: string): Promise<JobEvent[]> {
    const path = `/v1/jobs/${encode(jobId)}/events`;
    return (await this.get<{ data: JobEvent[] }>(path)).data;
  }

  cancelJob(jobId: string): Promise<Job> {
    return this.post(`/v1/jobs/${encode(jobId)}/cancel`, false);
  }

  closeJob(jobId: string): Promise<Job> {
    return this.post(`/v1/jobs/${encode(jobId)}/close`, true);
  }

  getCredits(): Promise<Credits> {
    return this.get('/v1/credits');
  }

  /**
   * Mints a short-lived token for the `<boringkit-job>` widget on a page of
   * `request.origins`. Call it from a backend: the API key must not reach
   * the browser. It is not retried, so a lost reply mints no second token.
   */
  async createWidgetToken(
    request: CreateWidgetTokenRequest,
  ): Promise<WidgetToken> {
    const result = await this.http.request<WidgetToken>(
      'POST',
      '/v1/widget-tokens',
      { body: request, retryable: false },
    );
    return result.body;
  }

  getDownloadIntent(jobId: string): Promise<DownloadIntent> {
    return this.get(`/v1/jobs/${encode(jobId)}/download-intent`);
  }

  /**
   * Uploads a job's input through its upload intent, without retries. When
   * the service stores blobs in S3, S3 takes the upload and sends no
   * receipt. The returned receipt then repeats the job's state before the
   * upload, and the job moves on once the service has checked the file.
   */
  async uploadInput(
    job: Job,
    source: UploadSource,
    options: TransferOptions = {},
  ): Promise<UploadReceipt> {
    if (!job.uploadIntent) {
      throw new BoringKitError(
        `Job ${job.id} is ${job.status} (${job.stage}) and has no upload ` +
          'intent. Upload right after creating the job.',
      );
    }
    const contentType = job.uploadIntent.headers['Content-Type'];
    const receipt = await putUpload(
      job.uploadIntent.url,
      contentType,
      source,
      options,
    );
    return receipt ?? { id: job.id, status: job.status, stage: job.stage };
  }

  /**
   * Waits until the job finishes and returns it, whatever its status. It
   * follows the WebSocket stream and polls GET /v1/jobs/{id} when the
   * socket cannot open, drops or goes silent.
   */
  async waitForJob(jobId: string, options: WaitOptions = {}): Promise<Job> {
    const { signal, onUpdate } = options;
    let last: Job | undefined;
    const update = (job: Job) => {
      if (last?.updatedAt === job.updatedAt && last.status === job.status) {
        return;
      }
      last = job;
      onUpdate?.(job);
    };

    if (this.webSocket) {
      const url = this.http
        .url(`/v1/jobs/${encode(jobId)}/stream`)
        .replace(/^http/, 'ws');
      const job = await followJobStream({
        url,
        apiKey: this.http.options.apiKey,
        onUpdate: update,
        signal,
        heartbeatMs: 15_000,
        handshakeTimeoutMs: 10_000,
        pollIntervalMs: this.pollIntervalMs,
      });
      if (job) return job;
    }

    for (;;) {
      const job = await this.getJob(jobId, signal);
      update(job);
      if (isFinal(job)) return job;
      await sleep(this.pollIntervalMs, signal);
    }
  }

  /** Opens the output of a succeeded job as a stream. */
  async openOutput(
    jobId: string,
    signal?: AbortSignal,
  ): Promise<{ intent: DownloadIntent; stream: Readable }> {
    const intent = await this.getDownloadIntent(jobId);
    const { stream } = await openDownload(intent.url, signal);
    return { intent, stream };
  }

  /** Downloads a succeeded job's output to a file and returns its size. */
  async downloadOutput(
    jobId: string,
    destination: string,
    options: TransferOptions = {},
  ): Promise<number> {
    const intent = await this.getDownloadIntent(jobId);
    const download = await openDownload(intent.url, options.signal);
    return saveDownload(
      { stream: download.stream, sizeBytes: intent.sizeBytes },
      destination,
      options,
    );
  }

  /**
   * Converts a file: creates the job, uploads the file, waits and
   * downloads the output. When `signal` aborts after the job was created,
   * it cancels the job before it rejects. A job that fails or is canceled
   * elsewhere rejects with JobFailedError.
   */
  async convertFile(
    toolSlug: string,
    path: string,
    options: ConvertOptions = {},
  ): Promise<{ job: Job; output: string }> {
    const { signal } = options;
    const contentType =
      options.contentType ?? (await this.guessContentType(toolSlug, path));
    // The create gets no signal: a create aborted in flight could leave a
    // job behind that this call never learns of, so it cannot cancel it.
    const { job: created } = await this.createJob(
      {
        toolSlug,
        input: {
          kind: 'file',
          name: options.name ?? basename(path),
          contentType,
          sizeBytes: await sourceSize(path),
          options: options.options ?? {},
        },
      },
      { idempotencyKey: options.idempotencyKey },
    );
    options.onJob?.(created);

    try {
      signal?.throwIfAborted();
      await this.uploadInput(created, path, {
        onProgress: options.onUploadProgress,
        signal,
      });
      const job = await this.waitForJob(created.id, options);
      if (job.status !== 'succeeded' || !job.output) {
        throw new JobFailedError(job);
      }
      const output =
        typeof options.output === 'function'
          ? await options.output(job)
          : (options.output ?? job.output.name);
      await this.downloadOutput(job.id, output, {
        onProgress: options.onDownloadProgress,
        signal,
      });
      return { job, output };
    } catch (error) {
      if (signal?.aborted) await this.cancelQuietly(created.id);
      throw error;
    }
  }

  /** Cancels a job unless it has finished meanwhile. */
  private async cancelQuietly(jobId: string): Promise<void> {
    try {
      await this.cancelJob(jobId);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'JOB_NOT_CANCELABLE') {
        return;
      }
      throw error;
    }
  }

  private async guessContentType(
    toolSlug: string,
    path: string,
  ): Promise<string> {
    const guess = contentTypeOf(path);
    if (guess) return guess;
    const tool = await this.getTool(toolSlug);
    const [only, ...others] = tool.input.contentTypes;
    if (only && others.length === 0) return only;
    throw new BoringKitError(
      `Cannot tell the content type of ${basename(path)} from its ` +
        `extension. Pass contentType, one of: ` +
        `${tool.input.contentTypes.join(', ')}.`,
    );
  }
}
