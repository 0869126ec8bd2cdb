import {
  ApiError,
  delay,
  isFinished,
  type ApiClient,
  type CreateJobRequest,
  type DownloadIntent,
  type JobView,
} from './api.ts';
import {
  IDLE,
  type ChosenFile,
  type FlowListener,
  type FlowState,
} from './flow-state.ts';
import { followJob } from './follow.ts';
import { uploadFile } from './upload.ts';

interface Run {
  controller: AbortController;
  cancelRequested: boolean;
}

const UPLOAD_ATTEMPTS = 3;

/**
 * Returns a random Idempotency-Key. crypto.randomUUID() exists only in
 * secure contexts, so plain-HTTP pages get random hex instead.
 */
function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(
    '',
  );
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'WIDGET_ERROR', String(error));
}

/**
 * One job's way through the public API: create, upload, follow, cancel and
 * download. Each start or resume is a run. A newer run, reset() or
 * dispose() aborts the older one, whose late responses then change nothing.
 */
export class JobFlow {
  #state: FlowState = IDLE;
  #run: Run | undefined;
  /** The last chosen file and its key, so a failed create can be resent. */
  #attempt: { chosen: ChosenFile; idempotencyKey: string } | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly listener: FlowListener,
  ) {}

  get state(): FlowState {
    return this.#state;
  }

  /** Creates a job for a chosen file with a new Idempotency-Key. */
  start(chosen: ChosenFile): Promise<void> {
    this.#attempt = { chosen, idempotencyKey: newIdempotencyKey() };
    return this.#create();
  }

  /** Sends the failed create again with the same Idempotency-Key. */
  retry(): Promise<void> {
    return this.#create();
  }

  async #create(): Promise<void> {
    if (!this.#attempt) return;
    const { chosen, idempotencyKey } = this.#attempt;
    const { file } = chosen;
    const run = this.#begin({
      phase: 'uploading',
      file: { name: file.name, sizeBytes: file.size },
    });
    const request: CreateJobRequest = {
      toolSlug: chosen.toolSlug,
      input: {
        kind: 'file',
        name: file.name,
        contentType: chosen.contentType,
        sizeBytes: file.size,
        options: chosen.options,
      },
    };

    let job: JobView;
    try {
      // Not aborted by cancel(): a job created after all must be canceled.
      job = await this.client.createJob(request, idempotencyKey);
    } catch (error) {
      if (this.#current(run)) {
        const retryable = error instanceof ApiError && error.transient;
        this.#fail(run, error, { phase: 'idle', retryable });
      }
      return;
    }
    this.#attempt = undefined;

    if (run.controller.signal.aborted) {
      if (run.cancelRequested && this.#current(run)) {
        this.#set({ job });
        this.listener.remember(job.id);
        this.listener.emitted('created', { job });
        await this.#cancelOnServer(run, job);
      } else {
        // Reset or removed while the job was created: its upload never comes.
        void this.client.cancelJob(job.id).catch(() => undefined);
      }
      return;
    }
    this.#set({ job });
    this.listener.remember(job.id);
    this.listener.emitted('created', { job });

    try {
      await this.#upload(run, job, file);
    } catch (error) {
      if (run.controller.signal.aborted) return;
      // The job cannot get its input now, so cancel it to refund its credits.
      const canceled = await this.client.cancelJob(job.id).catch(() => job);
      const cause = asApiError(error);
      const failure = new ApiError(
        cause.status,
        cause.code,
        `Uploading "${file.name}" failed: ${cause.message}`,
      );
      this.listener.remember(null);
      this.#fail(run, failure, { phase: 'idle', job: canceled });
      return;
    }
    this.#set({ phase: 'running', uploadedBytes: file.size });
    await this.#follow(run, job);
  }

  async #upload(run: Run, job: JobView, file: File): Promise<void> {
    let intent = job.uploadIntent;
    if (!intent) {
      intent = await this.client.issueUploadIntent(job.id);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await uploadFile(
          intent,
          file,
          ({ loadedBytes, totalBytes }) => {
            if (!this.#current(run)) return;
            this.#set({ uploadedBytes: loadedBytes });
            this.listener.emitted('progress', {
              job,
              stage: 'upload',
              progress: Math.floor((100 * loadedBytes) / (totalBytes || 1)),
              loadedBytes,
              totalBytes,
            });
          },
          run.controller.signal,
        );
        return;
      } catch (error) {
        const expired = error instanceof ApiError && error.status === 410;
        const transient = error instanceof ApiError && error.transient;
        if (run.controller.signal.aborted) throw error;
        if (attempt >= UPLOAD_ATTEMPTS || !(expired || transient)) throw error;
        if (expired) intent = await this.client.issueUploadIntent(job.id);
        else await delay(1_000 * attempt, run.controller.signal);
      }
    }
  }

  /**
   * Shows an existing job. With `abandonedUpload`, a job still awaiting its
   * upload is canceled, because the file it waits for was lost with the page.
   */
  async resume(
    jobId: string,
    { abandonedUpload = false }: { abandonedUpload?: boolean } = {},
  ): Promise<void> {
    const run = this.#begin({ phase: 'running' });
    let job: JobView;
    try {
      job = await this.client.getJob(jobId, run.controller.signal);
    } catch (error) {
      if (!this.#current(run)) return;
      // A lost connection keeps the job for the next reload.
      const transient = error instanceof ApiError && error.transient;
      if (!transient) this.listener.remember(null);
      this.#fail(run, error, { phase: 'idle' });
      return;
    }
    if (!this.#current(run)) return;

    this.#set({ job, file: fileOf(job) });
    if (isFinished(job)) {
      this.#finish(run, job);
      return;
    }
    if (abandonedUpload && job.stage === 'awaiting_upload') {
      const canceled = await this.client.cancelJob(job.id).catch(() => job);
      const name = job.input.name ?? 'the file';
      const notice = new ApiError(
        0,
        'UPLOAD_INTERRUPTED',
        `The upload of "${name}" stopped when the page was left. Choose the ` +
          'file again.',
      );
      this.listener.remember(null);
      this.listener.emitted('canceled', { job: canceled });
      this.#fail(run, notice, { phase: 'idle', job: null });
      return;
    }
    await this.#follow(run, job);
  }

  async #follow(run: Run, job: JobView): Promise<void> {
    try {
      const finished = await followJob(this.client, job.id, {
        signal: run.controller.signal,
        onJob: (update) => this.#update(run, update),
      });
      this.#finish(run, finished);
    } catch (error) {
      if (this.#current(run) && !run.controller.signal.aborted) {
        this.#fail(run, error, {});
      }
    }
  }

  /** Cancels the job being uploaded or run. */
  async cancel(): Promise<void> {
    const run = this.#run;
    const { phase, job } = this.#state;
    if (!run || (phase !== 'uploading' && phase !== 'running')) return;
    run.cancelRequested = true;
    run.controller.abort(new DOMException('Canceled', 'AbortError'));
    this.#set({ pending: 'cancel', error: null });
    // Without a job yet, #create() cancels the job once it exists.
    if (job) await this.#cancelOnServer(run, job);
  }

  async #cancelOnServer(run: Run, job: JobView): Promise<void> {
    try {
      const canceled = await this.client.cancelJob(job.id);
      if (this.#current(run)) this.#finish(run, canceled);
    } catch (error) {
      if (!this.#current(run)) return;
      if (error instanceof ApiError && error.code === 'JOB_NOT_CANCELABLE') {
        // It finished before the cancel arrived; show how it finished.
        const finished = await this.client.getJob(job.id).catch(() => job);
        if (this.#current(run)) this.#finish(run, finished);
        return;
      }
      this.#fail(run, error, {});
    }
  }

  /** Requests a fresh download URL for the succeeded job. */
  async download(): Promise<DownloadIntent | undefined> {
    const run = this.#run;
    const { job } = this.#state;
    if (!run || job?.status !== 'succeeded') return undefined;
    this.#set({ pending: 'download', error: null });
    try {
      const intent = await this.client.getDownloadIntent(job.id);
      if (this.#current(run)) this.#set({ pending: null });
      return intent;
    } catch (error) {
      if (this.#current(run)) this.#fail(run, error, {});
      return undefined;
    }
  }

  /** Forgets the job and shows the file chooser again. */
  reset(): void {
    this.dispose();
    this.#attempt = undefined;
    this.listener.remember(null);
    this.#set(IDLE, true);
  }

  /** Stops every request of the current run; the job itself goes on. */
  dispose(): void {
    this.#run?.controller.abort(new DOMException('Disposed', 'AbortError'));
    this.#run = undefined;
  }

  #begin(patch: Partial<FlowState>): Run {
    this.dispose();
    const run: Run = {
      controller: new AbortController(),
      cancelRequested: false,
    };
    this.#run = run;
    this.#set({ ...IDLE, ...patch }, true);
    return run;
  }

  #current(run: Run): boolean {
    return this.#run === run;
  }

  #update(run: Run, job: JobView): void {
    if (!this.#current(run)) return;
    const previous = this.#state.job;
    this.#set({ job });
    const moved =
      previous?.status !== job.status ||
      previous.stage !== job.stage ||
      previous.progress !== job.progress;
    if (moved && !isFinished(job)) {
      this.listener.emitted('progress', {
        job,
        stage: 'job',
        progress: job.progress,
      });
    }
  }

  #finish(run: Run, job: JobView): void {
    if (!this.#current(run)) return;
    const status = job.status as 'succeeded' | 'failed' | 'canceled';
    this.#set({ phase: status, job, pending: null, error: null });
    this.listener.emitted(status, { job });
  }

  #fail(run: Run, error: unknown, patch: Partial<FlowState>): void {
    if (!this.#current(run)) return;
    const apiError = asApiError(error);
    this.#set({ ...patch, error: apiError, pending: null });
    this.listener.emitted('error', {
      job: this.#state.job,
      error: {
        status: apiError.status,
        code: apiError.code,
        message: apiError.message,
      },
    });
  }

  #set(patch: Partial<FlowState>, replace = false): void {
    this.#state = replace
      ? { ...IDLE, ...patch }
      : { ...this.#state, ...patch };
    this.listener.changed(this.#state);
  }
}

function fileOf(job: JobView): FlowState['file'] {
  const { name, sizeBytes } = job.input;
  return name === undefined ? null : { name, sizeBytes: sizeBytes ?? 0 };
}
