import {
  ApiError,
  delay,
  isFinished,
  type ApiClient,
  type JobView,
} from './api.ts';

/** How long the socket may stay silent after opening before polling. */
const STREAM_FIRST_MESSAGE_MS = 10_000;
const POLL_INTERVAL_MS = 1_000;
const MAX_POLL_BACKOFF_MS = 30_000;
/** Failed polls in a row after which following gives up. */
const MAX_POLL_FAILURES = 10;

export interface FollowOptions {
  /** Receives the job at once and after every change. */
  onJob(job: JobView): void;
  /** Receives why the stream stopped before the job finished. */
  onFallback?(reason: string): void;
  signal: AbortSignal;
}

/**
 * Follows a job until it finishes and returns it finished: over the job's
 * WebSocket stream, then by polling `GET /v1/jobs/{id}` if the socket fails
 * to open or closes before the job finishes.
 */
export async function followJob(
  client: ApiClient,
  jobId: string,
  options: FollowOptions,
): Promise<JobView> {
  const streamed = await streamJob(client, jobId, options);
  if (streamed.job) return streamed.job;

  options.onFallback?.(streamed.reason);
  return pollJob(client, jobId, options);
}

type StreamOutcome =
  { job: JobView; reason?: undefined } | { job?: undefined; reason: string };

// NOTE: a connection that dies without a close frame (a sleeping laptop, a
// proxy that drops idle sockets) is noticed only when the browser closes
// it, which can take minutes. Until then the widget shows no updates.
function streamJob(
  client: ApiClient,
  jobId: string,
  { onJob, signal }: FollowOptions,
): Promise<StreamOutcome> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(client.streamUrl(jobId));
    } catch (error) {
      resolve({ reason: `the WebSocket did not open: ${String(error)}` });
      return;
    }

    let received = false;
    let settled = false;
    const settle = (outcome: StreamOutcome | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(silenceTimer);
      signal.removeEventListener('abort', onAbort);
      if (socket.readyState <= WebSocket.OPEN) socket.close(1000);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => settle(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const silenceTimer = setTimeout(() => {
      if (!received) settle({ reason: 'the stream sent nothing' });
    }, STREAM_FIRST_MESSAGE_MS);

    socket.addEventListener('message', (event) => {
      let message: { type?: string; job?: JobView };
      try {
        message = JSON.parse(String(event.data)) as typeof message;
      } catch {
        return;
      }
      if (message.type !== 'job' || !message.job) return;
      received = true;
      onJob(message.job);
      if (isFinished(message.job)) settle({ job: message.job });
    });
    socket.addEventListener('close', (event) => {
      settle({
        reason: `the stream closed with code ${event.code} before the job finished`,
      });
    });
  });
}

async function pollJob(
  client: ApiClient,
  jobId: string,
  { onJob, signal }: FollowOptions,
): Promise<JobView> {
  let failures = 0;
  for (;;) {
    try {
      const job = await client.getJob(jobId, signal);
      failures = 0;
      onJob(job);
      if (isFinished(job)) return job;
    } catch (error) {
      const transient = error instanceof ApiError && error.transient;
      if (signal.aborted || !transient) throw error;
      failures += 1;
      if (failures >= MAX_POLL_FAILURES) throw error;
    }
    const wait =
      failures === 0
        ? POLL_INTERVAL_MS
        : Math.min(MAX_POLL_BACKOFF_MS, POLL_INTERVAL_MS * 2 ** failures);
    await delay(wait, signal);
  }
}
