import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { loggerOptions } from '../api/logging.ts';
import { loadConfig } from '../bin/config.ts';
import { startService, type RunningService } from '../bin/service.ts';
import { ApiClient, type JobEvent } from './client.ts';
import { compressDirect, makeNoisyPng } from './image.ts';
import { round, summarize, timeMs, type DurationSummary } from './stats.ts';

export interface LifecycleOptions {
  width: number;
  height: number;
  warmupRuns: number;
  measuredRuns: number;
  pollIntervalMs: number;
}

/** Durations of one job through the API, in milliseconds. */
interface ApiRun {
  totalMs: number;
  createMs: number;
  uploadMs: number;
  /** From the upload's response until a poll returns `succeeded`. */
  waitMs: number;
  downloadMs: number;
  /** Server clock, whole ms: `InputUploaded` to `JobStarted`. */
  uploadToStartMs: number;
  /** Server clock, whole ms: `JobStarted` to `JobSucceeded`. */
  attemptMs: number;
  /** From `JobSucceeded` until the client's poll saw it. */
  successSeenMs: number;
  output: Buffer;
}

type Phase = Exclude<keyof ApiRun, 'output' | 'totalMs'>;

const PHASES: readonly Phase[] = [
  'createMs',
  'uploadMs',
  'waitMs',
  'downloadMs',
  'uploadToStartMs',
  'attemptMs',
  'successSeenMs',
];

export interface LifecycleResult {
  input: { bytes: number; width: number; height: number };
  outputBytes: number;
  /** Whether the API's JPEG is byte-identical to the direct one. */
  outputsIdentical: boolean;
  warmupRuns: number;
  pollIntervalMs: number;
  api: DurationSummary;
  direct: DurationSummary;
  ratioOfMedians: number;
  overheadOfMediansMs: number;
  apiPhases: Record<Phase, DurationSummary>;
}

const TIMEOUT_MS = 60_000;

/**
 * Times `image-compress-api` end to end through an in-process service (API
 * and worker) against the same sharp pipeline called directly. API and
 * direct runs alternate, so that load from other processes hits both alike.
 */
export async function benchmarkLifecycle(
  options: LifecycleOptions,
): Promise<LifecycleResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-bench-lifecycle-'));
  let service: RunningService | undefined;
  try {
    const png = await makeNoisyPng(options.width, options.height);
    const pngPath = join(dataDir, 'source.png');
    await writeFile(pngPath, png);
    const metadata = await sharp(png).metadata();

    const apiKey = `bench-${randomBytes(16).toString('hex')}`;
    service = await startBenchService(dataDir, apiKey);
    const client = new ApiClient(service.url!, apiKey);
    const body = new Uint8Array(png);

    const apiRuns: ApiRun[] = [];
    const directMs: number[] = [];
    let directOutput: Buffer | undefined;
    const totalRuns = options.warmupRuns + options.measuredRuns;
    for (let run = 0; run < totalRuns; run++) {
      const apiRun = await runThroughApi(client, body, options.pollIntervalMs);
      const direct = await runDirect(pngPath, dataDir, run);
      directOutput ??= direct.output;
      if (run < options.warmupRuns) continue;
      apiRuns.push(apiRun);
      directMs.push(direct.ms);
    }

    const api = summarize(apiRuns.map((run) => run.totalMs));
    const directSummary = summarize(directMs);
    const apiOutput = apiRuns[0]!.output;
    return {
      input: {
        bytes: png.length,
        width: metadata.width,
        height: metadata.height,
      },
      outputBytes: apiOutput.length,
      outputsIdentical: directOutput?.equals(apiOutput) ?? false,
      warmupRuns: options.warmupRuns,
      pollIntervalMs: options.pollIntervalMs,
      api,
      direct: directSummary,
      ratioOfMedians: round(api.medianMs / directSummary.medianMs, 2),
      overheadOfMediansMs: round(api.medianMs - directSummary.medianMs),
      apiPhases: Object.fromEntries(
        PHASES.map((phase) => [
          phase,
          summarize(apiRuns.map((run) => run[phase])),
        ]),
      ) as Record<Phase, DurationSummary>,
    };
  } finally {
    await service?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Starts API and worker on 127.0.0.1 with a random port. The environment is
 * built here and not read from the process, so no setting can point the
 * service elsewhere. Logs go to /dev/null at level info, so that the
 * service still formats its request and attempt log lines.
 */
async function startBenchService(
  dataDir: string,
  apiKey: string,
): Promise<RunningService> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    BORINGKIT_DATA_DIR: dataDir,
    BORINGKIT_API_KEYS: `ws_bench:${apiKey}`,
    BORINGKIT_STARTING_CREDITS: '1000',
  });
  const logger = pino(loggerOptions('info'), pino.destination('/dev/null'));
  return startService(config, ['api', 'worker'], logger);
}

async function runThroughApi(
  client: ApiClient,
  png: Uint8Array<ArrayBuffer>,
  pollIntervalMs: number,
): Promise<ApiRun> {
  const start = performance.now();
  const job = await client.createJob({
    toolSlug: 'image-compress-api',
    input: {
      kind: 'file',
      name: 'source.png',
      contentType: 'image/png',
      sizeBytes: png.length,
      options: {},
    },
  });
  const created = performance.now();
  await client.upload(job, png);
  const uploaded = performance.now();
  await client.waitForSuccess(job.id, pollIntervalMs, TIMEOUT_MS);
  const succeeded = performance.now();
  const seenAt = Date.now();
  const output = await client.download(job.id);
  const downloaded = performance.now();

  const events = await client.listEvents(job.id);
  const recordedAt = (type: string) => eventTime(events, type, job.id);
  return {
    totalMs: downloaded - start,
    createMs: created - start,
    uploadMs: uploaded - created,
    waitMs: succeeded - uploaded,
    downloadMs: downloaded - succeeded,
    uploadToStartMs: recordedAt('JobStarted') - recordedAt('InputUploaded'),
    attemptMs: recordedAt('JobSucceeded') - recordedAt('JobStarted'),
    successSeenMs: seenAt - recordedAt('JobSucceeded'),
    output,
  };
}

function eventTime(events: JobEvent[], type: string, jobId: string): number {
  const event = events.find((candidate) => candidate.type === type);
  if (!event) throw new Error(`Job ${jobId} has no ${type} event.`);
  return Date.parse(event.recordedAt);
}

/**
 * Runs the pipeline on a fresh copy of the input, as the worker runs the
 * tool on its own copy. Only the pipeline is timed.
 */
async function runDirect(
  pngPath: string,
  dataDir: string,
  run: number,
): Promise<{ ms: number; output: Buffer }> {
  const inputPath = join(dataDir, `direct-${run}.png`);
  const outputPath = join(dataDir, `direct-${run}.jpg`);
  await copyFile(pngPath, inputPath);
  const ms = await timeMs(() => compressDirect(inputPath, outputPath));
  const output = await readFile(outputPath);
  await rm(inputPath);
  await rm(outputPath);
  return { ms, output };
}
