import { existsSync, statSync } from 'node:fs';
import { extname, basename } from 'node:path';
import type { Job } from '../../client/index.ts';
import { createContext, parseCommandArgs } from './context.ts';
import { ExitCode, UsageError } from './exit-codes.ts';
import { ProgressReporter } from './progress.ts';

/**
 * Parses `--option key=value` flags into tool options. A value that is
 * JSON (a number, true, false, null, an object) is taken as JSON, any
 * other value as a string. A dotted key sets a nested option, so
 * `margin.top=10mm` sets `{ margin: { top: "10mm" } }`.
 */
export function parseToolOptions(pairs: string[]): Record<string, unknown> {
  // Objects without a prototype, so a key such as __proto__ is plain data.
  const options: Record<string, unknown> = Object.create(null);
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    const keys = pair.slice(0, Math.max(separator, 0)).split('.');
    const last = keys.pop();
    if (separator < 1 || !last || keys.includes('')) {
      throw new UsageError(
        `--option ${pair} is not key=value. Write it as --option quality=80.`,
      );
    }
    const raw = pair.slice(separator + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON, so the value stays a string.
    }

    let target = options;
    for (const key of keys) {
      const next = target[key];
      if (typeof next !== 'object' || next === null) {
        target[key] = Object.create(null);
      }
      target = target[key] as Record<string, unknown>;
    }
    target[last] = value;
  }
  return options;
}

/** Returns `name`, or `name-1.ext`, `name-2.ext` ... when it exists. */
function freePath(name: string): string {
  const extension = extname(name);
  const stem = basename(name, extension);
  let candidate = name;
  for (let index = 1; existsSync(candidate); index++) {
    candidate = `${stem}-${index}${extension}`;
  }
  return candidate;
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
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new UsageError(`${file} is not a file. Check the path.`);
  }
  const options = parseToolOptions(values.option);
  const context = createContext(values);
  const progress = new ProgressReporter();

  // The first Ctrl-C cancels the job and then exits, and a second one
  // exits at once.
  const controller = new AbortController();
  let job: Job | undefined;
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    progress.line(job ? `interrupted: canceling job ${job.id}` : 'interrupted');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);

  try {
    const result = await context.client.convertFile(toolSlug, file, {
      options,
      contentType: values['content-type'],
      output: (finished) =>
        values.output ?? freePath(finished.output?.name ?? finished.id),
      signal: controller.signal,
      onJob: (created) => {
        job = created;
        progress.line(`job ${created.id} created`);
      },
      onUploadProgress: (update) => progress.upload(update),
      onUpdate: (update) => progress.job(update),
      onDownloadProgress: (update) => progress.download(update),
    });
    progress.endBar();
    context.print(
      context.json
        ? JSON.stringify({ output: result.output, job: result.job }, null, 2)
        : result.output,
    );
    return ExitCode.ok;
  } catch (error) {
    progress.endBar();
    // After Ctrl-C, an error other than the abort comes from the cancel,
    // so it is reported as such.
    if (error !== controller.signal.reason) throw error;
    progress.line(job ? `job ${job.id} canceled` : 'no job was created');
    return ExitCode.interrupted;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
