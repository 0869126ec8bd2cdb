import { basename } from 'node:path';
import {
  JobFailedError,
  NetworkError,
  type BoringKitClient,
  type Job,
} from '../../client/index.ts';
import { contentTypeOf } from '../../client/content-types.ts';
import {
  createContext,
  parseCommandArgs,
  type CommandContext,
} from './context.ts';
import { ExitCode, UsageError } from './exit-codes.ts';
import {
  checkInputFile,
  checkOutputDirectory,
  checkOutputPath,
  freePath,
} from './files.ts';
import type { CancelReason, Progress } from './progress.ts';
import { parseToolOptions } from './tool-options.ts';

/**
 * Returns the input's content type: the one of its extension, or the
 * tool's only accepted type.
 */
async function contentTypeFor(
  client: BoringKitClient,
  toolSlug: string,
  file: string,
): Promise<string> {
  const guess = contentTypeOf(file);
  if (guess) return guess;
  const accepted = (await client.getTool(toolSlug)).input.contentTypes;
  if (accepted.length === 1 && accepted[0]) return accepted[0];
  throw new UsageError(
    `Cannot tell the content type of ${file} from its extension. Pass ` +
      `--content-type with one of: ${accepted.join(', ')}.`,
  );
}

/** Cancels the job this command created and reports the outcome. */
async function cancelCreatedJob(
  client: BoringKitClient,
  progress: Progress,
  jobId: string,
  reason: CancelReason,
): Promise<void> {
  try {
    progress.canceled(await client.cancelJob(jobId), reason);
  } catch (error) {
    progress.cancelFailed(jobId, reason, error);
  }
}

/**
 * Adds the commands that finish the job by hand to a NetworkError, because
 * the job continues in the service without this command.
 */
function withRecoveryHint(error: unknown, jobId: string): unknown {
  if (!(error instanceof NetworkError)) return error;
  return new NetworkError(
    `${error.message} Job ${jobId} continues without this command: ` +
      `follow it with boringkit jobs show ${jobId}, and once it ` +
      `succeeded, save its output with boringkit jobs download ${jobId}.`,
    { cause: error },
  );
}

interface ConvertSteps {
  context: CommandContext;
  progress: Progress;
  file: string;
  output: string | undefined;
  signal: AbortSignal;
}

/** Returns whether the service has the job's input, or undefined if unknown. */
async function hasInput(
  client: BoringKitClient,
  jobId: string,
): Promise<boolean | undefined> {
  try {
    return (await client.getJob(jobId)).stage !== 'awaiting_upload';
  } catch {
    return undefined;
  }
}

/**
 * Uploads the input of a created job. When the upload fails, it cancels
 * the job, which otherwise stays queued and charged until its upload
 * intent expires. An upload whose reply was lost may have arrived, so the
 * job is checked first and kept if it has its input.
 */
async function uploadOrCancel(job: Job, steps: ConvertSteps): Promise<void> {
  const { client } = steps.context;
  const { progress, signal } = steps;
  try {
    await client.uploadInput(job, steps.file, {
      onProgress: (update) => progress.upload(update),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    const lostReply = error instanceof NetworkError;
    if (lostReply && (await hasInput(client, job.id))) return;
    progress.canceling(job.id, 'upload_failed');
    await cancelCreatedJob(client, progress, job.id, 'upload_failed');
    throw error;
  }
}

/**
 * Uploads the input of a created job, waits for the job and downloads its
 * output. Returns the finished job and the output's path.
 */
async function finishJob(
  job: Job,
  steps: ConvertSteps,
): Promise<{ job: Job; output: string }> {
  const { client } = steps.context;
  const { progress, signal } = steps;
  signal.throwIfAborted();
  await uploadOrCancel(job, steps);

  try {
    const finished = await client.waitForJob(job.id, {
      onUpdate: (update) => progress.job(update),
      signal,
    });
    if (finished.status !== 'succeeded' || !finished.output) {
      throw new JobFailedError(finished);
    }
    const output = steps.output ?? freePath(finished.output.name);
    await client.downloadOutput(finished.id, output, {
      onProgress: (update) => progress.download(update),
      signal,
    });
    return { job: finished, output };
  } catch (error) {
    throw signal.aborted ? error : withRecoveryHint(error, job.id);
  }
}

export async function convertCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    option: { type: 'string', multiple: true, default: [] },
    'content-type': { type: 'string' },
  });
  const [toolSlug, file, extra] = positionals;
  if (!toolSlug || !file || extra !== undefined) {
    throw new UsageError(
      'Usage: boringkit convert <tool> <file> [-o out] [--option k=v ...]',
    );
  }
  const options = parseToolOptions(values.option);

  // These checks run before the job is created, so a mistake costs no
  // credits.
  const sizeBytes = await checkInputFile(file);
  if (values.output === undefined) await checkOutputDirectory('.');
  else await checkOutputPath(values.output);
  const context = createContext(values);
  const { client } = context;
  const contentType =
    values['content-type'] ?? (await contentTypeFor(client, toolSlug, file));

  // The first Ctrl-C cancels the job and then exits, and a second one
  // exits at once.
  const progress = context.progress();
  const controller = new AbortController();
  let job: Job | undefined;
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);

  try {
    // The create gets no signal: a create aborted in flight could leave a
    // job behind that this command never learns of, so it cannot cancel it.
    ({ job } = await client.createJob({
      toolSlug,
      input: {
        kind: 'file',
        name: basename(file),
        contentType,
        sizeBytes,
        options,
      },
    }));
    progress.created(job);
    const result = await finishJob(job, {
      context,
      progress,
      file,
      output: values.output,
      signal: controller.signal,
    });
    progress.end();
    context.print(
      context.json
        ? JSON.stringify({ output: result.output, job: result.job }, null, 2)
        : result.output,
    );
    return ExitCode.ok;
  } catch (error) {
    progress.end();
    // After Ctrl-C every step rejects, with the abort or an error of its
    // own, and the job this command created is canceled.
    if (!controller.signal.aborted || !job) throw error;
    progress.canceling(job.id, 'interrupted');
    await cancelCreatedJob(client, progress, job.id, 'interrupted');
    return ExitCode.interrupted;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
