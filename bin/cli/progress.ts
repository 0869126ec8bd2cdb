import type { Job, TransferProgress } from '../../client/index.ts';

const BAR_WIDTH = 24;
/** Redraws of a terminal bar at most this often, in ms. */
const REDRAW_INTERVAL_MS = 100;
/** Without a terminal, a line is printed at each step of this many percent. */
const LINE_STEP_PERCENT = 25;

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Shows upload, processing and download progress on stderr: one bar
 * redrawn in place on a terminal, plain lines at 25% steps otherwise, so
 * logs and pipes get a readable record.
 */
export class ProgressReporter {
  private lastDraw = 0;
  private lastStep = new Map<string, number>();
  private barShown = false;
  private barLabel = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Prints a line, ending a bar in progress first. */
  line(text: string): void {
    this.endBar();
    this.stream.write(`${text}\n`);
  }

  upload(progress: TransferProgress): void {
    this.transfer('upload', progress);
  }

  download(progress: TransferProgress): void {
    this.transfer('download', progress);
  }

  /** Shows a job update: its stage, and its progress while it runs. */
  job(job: Job): void {
    const label = `${job.status} (${job.stage})`;
    const percent = Math.round(job.progress);
    if (this.interactive) {
      this.bar('processing', percent, label, true);
      return;
    }
    const key = `job:${label}`;
    const step = Math.floor(percent / LINE_STEP_PERCENT);
    if (this.lastStep.get(key) === step) return;
    this.lastStep.set(key, step);
    this.line(`processing ${percent}% ${label}`);
  }

  private transfer(what: string, { bytes, totalBytes }: TransferProgress) {
    const percent = totalBytes > 0 ? Math.floor((bytes / totalBytes) * 100) : 0;
    const detail = `${formatSize(bytes)} of ${formatSize(totalBytes)}`;
    if (this.interactive) {
      this.bar(what, percent, detail, bytes === totalBytes);
      return;
    }
    const step = Math.floor(percent / LINE_STEP_PERCENT);
    if (this.lastStep.get(what) === step) return;
    this.lastStep.set(what, step);
    this.line(`${what} ${percent}% ${detail}`);
  }

  private bar(what: string, percent: number, detail: string, force: boolean) {
    // A new kind of progress keeps the finished bar above it.
    if (this.barShown && this.barLabel !== what) this.endBar();
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

  /** Ends a bar in progress with a newline. */
  endBar(): void {
    if (!this.barShown) return;
    this.stream.write('\n');
    this.barShown = false;
  }
}
