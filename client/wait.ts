import WebSocket from 'ws';
import type { Job } from './types.ts';

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

export function isFinal(job: Job): boolean {
  return FINAL_STATUSES.has(job.status);
}

export interface StreamOptions {
  url: string;
  apiKey: string;
  onUpdate: (job: Job) => void;
  signal?: AbortSignal;
  /** Interval of the pings that detect a dead connection, in ms. */
  heartbeatMs: number;
  /** Time the WebSocket handshake may take, in ms. */
  handshakeTimeoutMs: number;
}

/**
 * Follows a job over its WebSocket stream. Resolves with the job once a
 * message shows it finished, or with undefined when the socket could not
 * open, closed early or stopped responding to pings, so the caller can poll.
 * Rejects only with the signal's reason.
 */
export function followJobStream(
  options: StreamOptions,
): Promise<Job | undefined> {
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
