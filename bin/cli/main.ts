import { ApiError } from '../../client/index.ts';
import { ConfigError } from '../config.ts';
import { creditsCommand, jobsCommand, toolsCommand } from './commands.ts';
import { convertCommand } from './convert.ts';
import { ExitCode, exitCodeFor, UsageError } from './exit-codes.ts';

export const USAGE = `Usage: boringkit <command> [options]

Service commands:
  start            run the roles that BORINGKIT_ROLE names: all (default),
                   serve or work
  all              run the API and a worker in one process
  serve            run the API only
  work             run a worker only
  replay           rebuild the read model from the log (stop the API first)
  replay --verify  rebuild into a scratch copy and list every difference
                   with the live read model; exits 1 when there is one

Client commands:
  tools                          list the tools and their inputs
  convert <tool> <file>          create a job, upload the file, wait, and
                                 download the output
      -o, --output <path>        output file (default: the output's name)
      --option <key=value>       a tool option; repeat for more, values are
                                 JSON or strings, dotted keys nest
      --content-type <type>      input content type (default: from the
                                 file extension)
  jobs list [--status <s>] [--limit <n>]
                                 list jobs, newest first (default 50)
  jobs show|events|cancel|close <job-id>
                                 show a job or its events, cancel or close it
  jobs download <job-id> [-o <path>]
                                 save the output of a succeeded job
  credits                        show the balance and the ledger

Client options:
  --url <url>     API origin (default: BORINGKIT_API_URL or
                  http://127.0.0.1:8080)
  --key <key>     API key (default: BORINGKIT_API_KEY, or for a local URL
                  the development key in $BORINGKIT_DATA_DIR/dev-api-key);
                  other users see --key in the process list, so prefer
                  BORINGKIT_API_KEY
  --allow-http    send the API key over plain HTTP to another host; without
                  it, only https:// or a URL on this machine is used
  --json          print JSON on stdout, and progress and errors on stderr
                  as one JSON object a line
  -h, --help      print this help

Exit codes: 0 success, 1 other failure, 2 usage or file error, 3 API
error, 4 authentication error, 5 network error, 6 job failed or canceled,
130 interrupted by Ctrl-C (a running convert cancels its job first).`;

const SERVICE_COMMANDS = new Set(['start', 'all', 'serve', 'work', 'replay']);

const CLIENT_COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  tools: toolsCommand,
  convert: convertCommand,
  jobs: jobsCommand,
  credits: creditsCommand,
};

function reportError(error: unknown, json: boolean): void {
  if (json) {
    const body =
      error instanceof ApiError
        ? { code: error.code, status: error.status, detail: error.detail }
        : { code: (error as Error).name, detail: (error as Error).message };
    process.stderr.write(`${JSON.stringify({ error: body })}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`boringkit: ${message}\n`);
  if (error instanceof UsageError) {
    process.stderr.write('Run boringkit --help for the commands.\n');
  }
}

/** Runs the boringkit command line and returns its exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.ok;
  }

  if (SERVICE_COMMANDS.has(command)) {
    // Loaded on demand, because the service pulls in every engine.
    const { runServiceCommand } = await import('../service-command.ts');
    try {
      return await runServiceCommand(command, rest);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return ExitCode.failure;
    }
  }

  const handler = CLIENT_COMMANDS[command];
  const json = rest.includes('--json');
  if (!handler) {
    reportError(new UsageError(`Unknown command "${command}".`), json);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.ok;
  }
  try {
    return await handler(rest);
  } catch (error) {
    reportError(error, json);
    return exitCodeFor(error);
  }
}
