import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loggerOptions } from '../api/logging.ts';
import { loadConfig } from '../bin/config.ts';
import { startService, type RunningService } from '../bin/service.ts';
import { ApiClient } from './client.ts';
import { round, summarize, timeMs, type DurationSummary } from './stats.ts';

const execFileAsync = promisify(execFile);

const JOB_TIMEOUT_MS = 300_000;
const COMMAND_TIMEOUT_MS = 300_000;

/**
 * A target on the ratio of medians, service time / baseline time. "At least
 * 4x faster" is a maximum ratio of 0.25, "within 2x" one of 2.
 */
export interface RatioTarget {
  maxRatio: number;
  /** The target in words, such as "at least 4x faster". */
  label: string;
}

/** One side-by-side measurement of a tool against its bare engine command. */
export interface EngineComparison {
  name: string;
  /** The timed service side: a whole job or the runner alone. */
  subject: string;
  baseline: string;
  warmupRuns: number;
  service: DurationSummary;
  direct: DurationSummary;
  /** Median service time / median baseline time. */
  ratio: number;
  target: RatioTarget;
  met: boolean;
  /** Further targets, such as a maximum median in milliseconds. */
  extraTargets: { label: string; met: boolean }[];
  /** Facts about the inputs and outputs, for the report. */
  details: Record<string, unknown>;
}

/** A running in-process service and a client with its API key. */
export interface BenchService {
  service: RunningService;
  client: ApiClient;
}

/**
 * Starts API and worker on 127.0.0.1 with a random port, like the lifecycle
 * benchmark does. The environment is built here, not read from the process,
 * so no setting can point the service elsewhere.
 */
export async function startEngineService(
  dataDir: string,
): Promise<BenchService> {
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    BORINGKIT_DATA_DIR: dataDir,
    BORINGKIT_API_KEYS: `ws_bench:${apiKey}`,
    BORINGKIT_STARTING_CREDITS: '100000',
  });
  const logger = pino(loggerOptions('info'), pino.destination('/dev/null'));
  const service = await startService(config, ['api', 'worker'], logger);
  return { service, client: new ApiClient(service.url!, apiKey) };
}

/** The input of one job: a file to upload or inline text. */
export type JobInput =
  | { kind: 'file'; name: string; contentType: string; bytes: Buffer }
  | { kind: 'text'; contentType: string; text: string };

/** One job through the API, with the phases that explain its time. */
export interface JobRun {
  ms: number;
  output: Buffer;
  /** Client clock: the `PUT` of the input, 0 for inline text. */
  uploadMs: number;
  /** Server clock, whole ms: `JobStarted` to `JobSucceeded`. */
  attemptMs: number;
}

/**
 * Runs one job through the API (create, upload unless the input is inline
 * text, poll every `pollIntervalMs`, download) and returns its duration in
 * ms and the output. The job's events are read after the timed part.
 */
export async function runJob(
  client: ApiClient,
  toolSlug: string,
  input: JobInput,
  options: Record<string, unknown>,
  pollIntervalMs: number,
): Promise<JobRun> {
  const start = performance.now();
  const job = await client.createJob({
    toolSlug,
    input:
      input.kind === 'file'
        ? {
            kind: 'file',
            name: input.name,
            contentType: input.contentType,
            sizeBytes: input.bytes.length,
            options,
          }
        : {
            kind: 'text',
            contentType: input.contentType,
            text: input.text,
            options,
          },
  });
  const uploadStart = performance.now();
  if (input.kind === 'file') {
    await client.upload(job, new Uint8Array(input.bytes));
  }
  const uploadMs = performance.now() - uploadStart;
  await client.waitForSuccess(job.id, pollIntervalMs, JOB_TIMEOUT_MS);
  const output = await client.download(job.id);
  const ms = performance.now() - start;

  const events = await client.listEvents(job.id);
  const recordedAt = (type: string) => {
    const event = events.find((candidate) => candidate.type === type);
    if (!event) throw new Error(`Job ${job.id} has no ${type} event.`);
    return Date.parse(event.recordedAt);
  };
  const attemptMs = recordedAt('JobSucceeded') - recordedAt('JobStarted');
  return { ms, output, uploadMs, attemptMs };
}

/**
 * Summarizes the phases of measured job runs: the upload, the server's
 * attempt, and the rest (create, dispatch, polling, download).
 */
export function summarizeJobPhases(runs: readonly JobRun[]) {
  return {
    uploadMs: summarize(runs.map((run) => run.uploadMs)),
    attemptMs: summarize(runs.map((run) => run.attemptMs)),
    restMs: summarize(runs.map((run) => run.ms - run.uploadMs - run.attemptMs)),
  };
}

/** Runs a command to completion and returns its wall-clock time in ms. */
export function timeCommand(file: string, args: string[]): Promise<number> {
  return timeMs(() =>
    execFileAsync(file, args, {
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }),
  );
}

/** Settings of {@link compareAlternating}. */
export interface ComparisonPlan {
  name: string;
  subject: string;
  baseline: string;
  warmupRuns: number;
  measuredRuns: number;
  target: RatioTarget;
  /** One timed run through the service, in ms. */
  runService: (run: number) => Promise<number>;
  /** One timed run of the baseline command, in ms. */
  runDirect: (run: number) => Promise<number>;
}

/**
 * Runs service and baseline in turn, warm-up runs first, so that a change in
 * machine load hits both alike, and compares the medians of the measured
 * runs.
 */
export async function compareAlternating(
  plan: ComparisonPlan,
): Promise<EngineComparison> {
  const serviceMs: number[] = [];
  const directMs: number[] = [];
  for (let run = 0; run < plan.warmupRuns + plan.measuredRuns; run++) {
    const service = await plan.runService(run);
    const direct = await plan.runDirect(run);
    if (run < plan.warmupRuns) continue;
    serviceMs.push(service);
    directMs.push(direct);
  }

  const service = summarize(serviceMs);
  const direct = summarize(directMs);
  const ratio = round(service.medianMs / direct.medianMs, 2);
  return {
    name: plan.name,
    subject: plan.subject,
    baseline: plan.baseline,
    warmupRuns: plan.warmupRuns,
    service,
    direct,
    ratio,
    target: plan.target,
    met: service.medianMs / direct.medianMs <= plan.target.maxRatio,
    extraTargets: [],
    details: {},
  };
}
