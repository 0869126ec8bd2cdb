import { apiErrorFrom, ApiError, NetworkError } from './errors.ts';

export interface RetryPolicy {
  /** Retries after the first try, or 0 for none. */
  retries: number;
  /** Delay before the first retry in ms, doubled for each later retry. */
  baseDelayMs: number;
  /** Cap of one delay, in ms. */
  maxDelayMs: number;
}

export interface HttpOptions {
  baseUrl: string;
  apiKey: string;
  retry: RetryPolicy;
  /** Timeout of one try, in ms. */
  timeoutMs: number;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether the request may be sent again after a failure. */
  retryable: boolean;
  signal?: AbortSignal;
}

export interface HttpResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

// These statuses usually pass with time. TOOL_UNAVAILABLE is a 503 that
// does not, because the server lacks the tool's engine. A 409
// IDEMPOTENCY_KEY_IN_FLIGHT passes once the first request with the key ends.
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const PERMANENT_CODES = new Set(['TOOL_UNAVAILABLE']);
const TRANSIENT_CODES = new Set(['IDEMPOTENCY_KEY_IN_FLIGHT']);

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Returns the delay before retry number `attempt` (0 for the first): the
 * exponential delay with full jitter between half and all of it, or the
 * server's Retry-After seconds when it sent them.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfter?: string | null,
): number {
  const seconds = Number(retryAfter);
  if (retryAfter && Number.isFinite(seconds) && seconds >= 0) {
    return Math.min(seconds * 1000, policy.maxDelayMs);
  }
  const exponential = Math.min(
    policy.baseDelayMs * 2 ** attempt,
    policy.maxDelayMs,
  );
  return exponential / 2 + (Math.random() * exponential) / 2;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as
      { code?: string; message?: string } | undefined;
    if (error.name === 'TimeoutError') return 'timed out';
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}

/** JSON over HTTP to the API, with bearer auth, timeouts and retries. */
export class HttpTransport {
  constructor(readonly options: HttpOptions) {}

  url(path: string): string {
    return new URL(path, this.options.baseUrl).toString();
  }

  async request<T>(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<HttpResult<T>> {
    const { retry } = this.options;
    for (let attempt = 0; ; attempt++) {
      const canRetry = options.retryable && attempt < retry.retries;
      let response: Response;
      try {
        response = await this.send(method, path, options);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        const failure = new NetworkError(
          `${method} ${this.url(path)} failed: ${describeFailure(error)}. ` +
            'Check that the service runs and that the URL is right.',
          { cause: error },
        );
        if (!canRetry) throw failure;
        await sleep(retryDelay(retry, attempt), options.signal);
        continue;
      }

      const text = await response.text();
      if (response.ok) {
        const body = (text ? JSON.parse(text) : undefined) as T;
        return { status: response.status, headers: response.headers, body };
      }
      const error = apiErrorFrom(response.status, text);
      if (canRetry && isTransient(error)) {
        const delay = retryDelay(
          retry,
          attempt,
          response.headers.get('retry-after'),
        );
        await sleep(delay, options.signal);
        continue;
      }
      throw error;
    }
  }

  private send(method: string, path: string, options: RequestOptions) {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = options.signal
      ? AbortSignal.any([options.signal, timeout])
      : timeout;
    const hasBody = options.body !== undefined;
    return fetch(this.url(path), {
      method,
      signal,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: hasBody ? JSON.stringify(options.body) : undefined,
    });
  }
}

/** Returns whether an error response usually passes on a retry. */
export function isTransient(error: ApiError): boolean {
  if (TRANSIENT_CODES.has(error.code)) return true;
  return (
    RETRYABLE_STATUSES.has(error.status) && !PERMANENT_CODES.has(error.code)
  );
}
