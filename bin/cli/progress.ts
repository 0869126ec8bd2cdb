import {
  ApiError,
  type Job,
  type TransferProgress,
} from '../../client/index.ts';

const BAR_WIDTH = 24;
/** Redraws of a terminal bar at most this often, in ms. */
const REDRAW_INTERVAL_MS = 100;
/** Without a terminal, a line is printed at each step of this many percent. */
const LINE_STEP_PERCENT = 25;

/** Reason the command cancels the job it created. */
export type CancelReason = 'interrupted' | 'upload_failed';

/** Reports the steps of a conversion or a download on stderr. */
export interface Progress {
  created(job: Job): void;
  upload(progress: TransferProgress): void;
  /** A job update: its stage, and its progress while it runs. */
  job(job: Job): void;
  download(progress: TransferProgress): void;
  canceling(jobId: string, reason: CancelReason): void;
  canceled(job: Job, reason: CancelReason): void;
  cancelFailed(jobId: string, reason: CancelReason, error: unknown): void;
  /** Ends a bar in progress, before a result or an error is printed. */
  end(): void;
}

/** Passes a percentage once per step of 25% for each kind of progress. */
export class StepFilter {
  private readonly lastStep = new Map<string, number>();

  isNewStep(kind: string, percent: number): boolean {
    const step = Math.floor(percent / LINE_STEP_PERCENT);
    if (this.lastStep.get(kind) === step) return false;
    this.lastStep.set(kind, step);
    return true;
  }
}

export function transferPercent({ bytes, totalBytes }: TransferProgress) {
  return totalBytes > 0 ? Math.floor((bytes / totalBytes) * 100) : 0;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Shows progress for people: one bar redrawn in place on a terminal, plain
 * lines at 25% steps otherwise, so logs and pipes get a readable record.
 */
export class TextProgress implements Progress {
  private lastDraw = 0;
  private readonly steps = new StepFilter();
  private barShown = false;
  private barLabel = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Prints a line, ending a bar in progress first. */
  private line(text: string): void {
    this.end();
    this.stream.write(`${text}\n`);
  }

  created(job: Job): void {
    this.line(`job ${job.id} created`);
  }

  upload(progress: TransferProgress): void {
    this.transfer('upload', progress);
  }

  download(progress: TransferProgress): void {
    this.transfer('download', progress);
  }

  job(job: Job): void {
    const label = `${job.status} (${job.stage})`;
    const percent = Math.round(job.progress);
    if (this.interactive) {
      this.bar('processing', percent, label, true);
      return;
    }
    if (!this.steps.isNewStep(`job:${label}`, percent)) return;
    this.line(`processing ${percent}% ${label}`);
  }

  canceling(jobId: string, reason: CancelReason): void {
    const cause = reason === 'interrupted' ? 'interrupted' : 'upload failed';
    this.line(`${cause}: canceling job ${jobId}`);
  }

  canceled(job: Job): void {
    const refunded = job.credits.refunded;
    this.line(
      `job ${job.id} canceled, ${refunded} ` +
        `${refunded === 1 ? 'credit' : 'credits'} refunded`,
    );
  }

  cancelFailed(jobId: string, _reason: CancelReason, error: unknown): void {
    if (error instanceof ApiError && error.code === 'JOB_NOT_CANCELABLE') {
      this.line(`job ${jobId} has finished, so it was not canceled`);
      return;
    }
    this.line(
      `canceling job ${jobId} failed: ${(error as Error).message} ` +
        `Cancel it with: boringkit jobs cancel ${jobId}`,
    );
  }

  private transfer(what: string, progress: TransferProgress) {
    const percent = transferPercent(progress);
    const detail =
      `${formatSize(progress.bytes)} of ` + formatSize(progress.totalBytes);
    if (this.interactive) {
      this.bar(what, percent, detail, progress.bytes === progress.totalBytes);
      return;
    }
    if (!this.steps.isNewStep(what, percent)) return;
    this.line(`${what} ${percent}% ${detail}`);
  }

  private bar(what: string, percent: number, detail: string, force: boolean) {
    // A new kind of progress keeps the finished bar above it.
    if (this.barShown && this.barLabel !== what) this.end();
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = now;

    const filled = Math.round((Math.min(percent, 100) / 100) * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    const text = `${what.padEnd(10)} [${bar}] ${String(percent).padStart(3)}% ${detail}`;
    // Carriage return and erase-to-end-of-line redraw the bar in place.
    this.stream.write(`\r${text}\x1b[K`);
    this.barShown = true;
    this.barLabel = what;
  }

  end(): void {
    if (!this.barShown) return;
    this.stream.write('\n');
    this.barShown = false;
  }
}
