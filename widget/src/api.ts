/**
 * A client of the service's public HTTP API, as the widget uses it. These
 * types restate the public job and tool shapes, limited to the fields the
 * widget reads.
 */

export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface UploadIntent {
  method: string;
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

export interface JobView {
  id: string;
  toolSlug: string;
  status: JobStatus;
  stage: string;
  /** 0 to 100. */
  progress: number;
  attempt: number;
  maxAttempts: number;
  input: {
    kind: string;
    name?: string;
    contentType: string;
    sizeBytes?: number;
  };
  output: { name: string; contentType: string; sizeBytes: number } | null;
  failure: { code: string; message: string; retryable: boolean } | null;
  uploadIntent: UploadIntent | null;
}

export interface ToolView {
  slug: string;
  title: string;
  input: { contentTypes: string[]; maxSizeBytes: number };
  output: { contentType: string };
  apiJobCreation: 'available' | 'unavailable';
  unavailableReason?: string;
}

export interface DownloadIntent {
  url: string;
  expiresAt: string;
  name: string;
  contentType: string;
  sizeBytes: number;
}

export interface CreateJobRequest {
  toolSlug: string;
  input: {
    kind: 'file';
    name: string;
    contentType: string;
    sizeBytes: number;
    options: Record<string, unknown>;
  };
}

/** Statuses after which a job never changes again. */
export function isFinished(job: JobView): boolean {
  return (
    job.status === 'succeeded' ||
    job.status === 'failed' ||
    job.status === 'canceled'
  );
}

/**
 * A failed request: a problem-details response of the service, or `status`
 * 0 with code `NETWORK_ERROR` when no response arrived.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** Whether the same request may succeed when sent again later. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

interface Problem {
  code?: string;
  detail?: string;
  title?: string;
  errors?: { path: string; message: string }[];
}

/** Builds an ApiError from a problem-details body, or from the status. */
export function problemError(status: number, body: string): ApiError {
  let problem: Problem = {};
  try {
    problem = JSON.parse(body) as Problem;
  } catch {
    // Not JSON, for example a proxy's error page.
  }
  const fields = (problem.errors ?? [])
    .map((error) => `${error.path}: ${error.message}`)
    .join('; ');
  const detail =
    problem.detail ?? problem.title ?? `The service returned HTTP ${status}.`;
  return new ApiError(
    status,
    problem.code ?? `HTTP_${status}`,
    fields && !detail.includes(fields) ? `${detail} (${fields})` : detail,
  );
}

const CREATE_ATTEMPTS = 4;

/** Resolves after `milliseconds`, or rejects when `signal` aborts first. */
export function delay(
  milliseconds: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * Sends requests to one service with the bearer token that `token()`
 * returns at the time of each request, so a host page can swap a
 * short-lived token without restarting a job.
 */
export class ApiClient {
  /** The endpoint without a trailing slash; it may contain a path prefix. */
  readonly base: string;

  constructor(
    endpoint: string,
    private readonly token: () => string,
  ) {
    this.base = endpoint.replace(/\/+$/, '');
  }

  async request<T>(
    method: string,
    path: string,
    { body, headers = {}, signal }: RequestOptions = {},
  ): Promise<{ status: number; body: T }> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.token()}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      // A response without CORS headers fails here too, so the message
      // names this page's origin, which the widget token must allow.
      throw new ApiError(
        0,
        'NETWORK_ERROR',
        `Could not reach ${this.base} (${String(error)}). Check the ` +
          'endpoint attribute, that the service is running and reachable ' +
          `from this page, and that the token allows this page's origin ` +
          `${window.location.origin}.`,
      );
    }
    const text = await response.text();
    if (response.status === 401) {
      const problem = problemError(response.status, text);
      throw new ApiError(
        401,
        problem.code,
        `The token attribute was rejected: ${problem.message}`,
      );
    }
    if (!response.ok) throw problemError(response.status, text);
    return { status: response.status, body: JSON.parse(text) as T };
  }

  async getTool(slug: string, signal?: AbortSignal): Promise<ToolView> {
    const path = `/v1/tools/${encodeURIComponent(slug)}`;
    return (await this.request<ToolView>('GET', path, { signal })).body;
  }

  async getJob(id: string, signal?: AbortSignal): Promise<JobView> {
    const path = `/v1/jobs/${encodeURIComponent(id)}`;
    return (await this.request<JobView>('GET', path, { signal })).body;
  }

  /**
   * Creates a job, sending the same request with the same Idempotency-Key
   * again after a network error, a 5xx or a 409 for a key still in flight.
   * The service returns the original job for a repeated key, so retries
   * never create a second job.
   */
  async createJob(
    request: CreateJobRequest,
    idempotencyKey: string,
  ): Promise<JobView> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.request<JobView>('POST', '/v1/jobs', {
          body: request,
          headers: { 'idempotency-key': idempotencyKey },
        });
        return response.body;
      } catch (error) {
        const retryable =
          error instanceof ApiError &&
          (error.transient || error.code === 'IDEMPOTENCY_KEY_IN_FLIGHT');
        if (!retryable || attempt >= CREATE_ATTEMPTS) throw error;
        await delay(500 * 2 ** (attempt - 1));
      }
    }
  }

  async cancelJob(id: string): Promise<JobView> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/cancel`;
    return (await this.request<JobView>('POST', path)).body;
  }

  /** Asks for a fresh upload URL while the job still awaits its upload. */
  async issueUploadIntent(id: string): Promise<UploadIntent> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/upload-intent`;
    const { body: job } = await this.request<JobView>('POST', path);
    if (!job.uploadIntent) {
      throw new ApiError(
        409,
        'JOB_NOT_AWAITING_UPLOAD',
        `Job ${id} no longer awaits an upload. Choose the file again.`,
      );
    }
    return job.uploadIntent;
  }

  async getDownloadIntent(id: string): Promise<DownloadIntent> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/download-intent`;
    return (await this.request<DownloadIntent>('GET', path)).body;
  }

  /**
   * Returns the job's WebSocket URL with the token as the `token` query
   * parameter, because browsers cannot set headers on a WebSocket.
   */
  streamUrl(id: string): string {
    const url = new URL(
      `${this.base}/v1/jobs/${encodeURIComponent(id)}/stream`,
    );
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', this.token());
    return url.href;
  }
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}
