import WebSocket from 'ws';
import { ApiError, NetworkError } from './errors.ts';
import {
  HttpTransport,
  isTransient,
  retryDelay,
  sleep,
  type RetryPolicy,
} from './http.ts';
import type { Job } from './types.ts';

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

/** Delays between polls while the service is unreachable. */
const OUTAGE_BACKOFF: RetryPolicy = {
  retries: 0,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

export function isFinal(job: Job): boolean {
  return FINAL_STATUSES.has(job.status);
}

export interface StreamOptions {
  /** WebSocket URL of the job's stream, `ws(s)://…/v1/jobs/{id}/stream`. */
  url: string;
  apiKey: string;
  onUpdate: (job: Job) => void;
  signal?: AbortSignal;
  /** Interval of the pings that detect a dead connection, in ms. */
  heartbeatMs: number;
  /** Time the WebSocket handshake may take, in ms. */
  handshakeTimeoutMs: number;
  /** Interval of status polls while the stream is closed, in ms (1000). */
  pollIntervalMs?: number;
  /** Timeout of one status poll, in ms (30 000). */
  requestTimeoutMs?: number;
  /**
   * Time polls may fail in a row, from the first failure, before the wait
   * gives up, in ms (60 000).
   */
  maxOutageMs?: number;
}

/**
 * Follows a job until it finishes and resolves with it. It listens on the
 * job's WebSocket stream, and polls GET /v1/jobs/{id} once the stream
 * closes, drops or goes silent.
 *
 * A poll that cannot connect, times out or gets 408, 429, 500, 502, 503 or
 * 504 is retried after 250 ms, doubling up to 5 s, with jitter. When a poll
 * succeeds after such failures, the stream is opened again, so the wait
 * outlasts a restart of the service. Once polls have failed for
 * `maxOutageMs` in a row (60 s by default), it rejects with NetworkError.
 * The last poll may start just before that time and run for its timeout.
 *
 * Rejects with the signal's reason when it aborts, and with ApiError for
 * another error response, such as 404 JOB_NOT_FOUND.
 */
export async function followJobStream(options: StreamOptions): Promise<Job> {
  const { signal } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const maxOutageMs = options.maxOutageMs ?? 60_000;
  const pollJob = jobPoller(options);
  let streaming = true;
  let outageStartedAt: number | undefined;
  let failedPolls = 0;

  for (;;) {
    if (streaming) {
      const job = await streamJob(options);
      if (job) return job;
      streaming = false;
    }

    let job: Job;
    try {
      job = await pollJob();
    } catch (error) {
      if (!isOutage(error)) throw error;
      outageStartedAt ??= Date.now();
      const elapsed = Date.now() - outageStartedAt;
      if (elapsed >= maxOutageMs) throw outageError(error, maxOutageMs);
      const delay = retryDelay(OUTAGE_BACKOFF, failedPolls++);
      await sleep(Math.min(delay, maxOutageMs - elapsed), signal);
      continue;
    }

    options.onUpdate(job);
    if (isFinal(job)) return job;
    if (outageStartedAt !== undefined) {
      // The service is back, so its stream can be followed again.
      outageStartedAt = undefined;
      failedPolls = 0;
      streaming = true;
      continue;
    }
    await sleep(pollIntervalMs, signal);
  }
}

/** Returns a function that GETs the job once, without retries. */
function jobPoller(options: StreamOptions): () => Promise<Job> {
  // The stream's URL is the job's URL with /stream added.
  const url = new URL(options.url);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/stream$/, '');
  url.search = '';
  const jobUrl = url.toString();
  const http = new HttpTransport({
    baseUrl: jobUrl,
    apiKey: options.apiKey,
    timeoutMs: options.requestTimeoutMs ?? 30_000,
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0 },
  });
  return async () => {
    const result = await http.request<Job>('GET', jobUrl, {
      retryable: false,
      signal: options.signal,
    });
    return result.body;
  };
}

function isOutage(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && isTransient(error);
}

function outageError(last: unknown, maxOutageMs: number): NetworkError {
  const seconds = Math.round(maxOutageMs / 1000);
  return new NetworkError(
    `Waiting for the job failed because the service was unreachable for ` +
      `${seconds} s. The last error: ${(last as Error).message}`,
    { cause: last },
  );
}

/**
 * Follows the job over one WebSocket connection. Resolves with the job once
 * a message shows it finished, or with undefined when the socket could not
 * open, closed early or stopped responding to pings. Rejects only with the
 * signal's reason.
 */
function streamJob(options: StreamOptions): Promise<Job | undefined> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise((resolve, reject) => {
    const socket = new WebSocket(options.url, {
      headers: { authorization: `Bearer ${options.apiKey}` },
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    let alive = true;
    let settled = false;

    const heartbeat = setInterval(() => {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, options.heartbeatMs);

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
      else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      outcome();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('pong', () => {
      alive = true;
    });
    socket.on('message', (data) => {
      alive = true;
      let job: Job;
      try {
        job = (JSON.parse(String(data)) as { job: Job }).job;
      } catch {
        finish(() => resolve(undefined));
        return;
      }
      options.onUpdate(job);
      if (isFinal(job)) finish(() => resolve(job));
    });
    // A failed handshake, a refused upgrade and an early close all end the
    // stream, and the caller polls instead.
    socket.on('error', () => finish(() => resolve(undefined)));
    socket.on('unexpected-response', () => finish(() => resolve(undefined)));
    socket.on('close', () => finish(() => resolve(undefined)));
  });
}
