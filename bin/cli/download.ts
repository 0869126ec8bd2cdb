import { createContext, parseCommandArgs } from './context.ts';
import { ExitCode, UsageError } from './exit-codes.ts';
import { checkOutputDirectory, checkOutputPath, freePath } from './files.ts';

/**
 * Runs `jobs download <job-id> [-o out]`: saves the output of a succeeded
 * job, for instance after a convert that lost its connection while it
 * waited. Without -o, the file gets the output's name.
 */
export async function downloadCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
  });
  const [jobId, extra] = positionals;
  if (!jobId || extra !== undefined) {
    throw new UsageError('Usage: boringkit jobs download <job-id> [-o out]');
  }
  if (values.output === undefined) await checkOutputDirectory('.');
  else await checkOutputPath(values.output);
  const context = createContext(values);
  const { client } = context;

  // Ctrl-C stops the download, which removes its partial file.
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  const progress = context.progress();
  try {
    const intent = await client.getDownloadIntent(jobId);
    const output = values.output ?? freePath(intent.name);
    const sizeBytes = await client.downloadOutput(jobId, output, {
      onProgress: (update) => progress.download(update),
      signal: controller.signal,
    });
    progress.end();
    const { name, contentType } = intent;
    context.print(
      context.json
        ? JSON.stringify(
            { output, jobId, name, contentType, sizeBytes },
            null,
            2,
          )
        : output,
    );
    return ExitCode.ok;
  } catch (error) {
    progress.end();
    if (controller.signal.aborted) return ExitCode.interrupted;
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
