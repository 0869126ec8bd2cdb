import type { Job, JobStatus } from '../../client/index.ts';
import {
  createContext,
  parseCommandArgs,
  type CommandContext,
} from './context.ts';
import { downloadCommand } from './download.ts';
import { ExitCode, UsageError } from './exit-codes.ts';

const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

/** Formats rows as columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_cell, column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths?.[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function printJob(context: CommandContext, job: Job): void {
  if (context.json) {
    context.print(JSON.stringify(job, null, 2));
    return;
  }
  const lines = [
    ['id', job.id],
    ['tool', job.toolSlug],
    ['status', `${job.status} (${job.stage}, ${job.progress}%)`],
    ['input', `${job.input.name} (${job.input.sizeBytes} bytes)`],
    [
      'output',
      job.output ? `${job.output.name} (${job.output.sizeBytes} bytes)` : '-',
    ],
    [
      'failure',
      job.failure ? `${job.failure.code}: ${job.failure.message}` : '-',
    ],
    [
      'credits',
      `${job.credits.charged} charged, ${job.credits.refunded} refunded`,
    ],
    ['created', job.createdAt],
    ['finished', job.finishedAt ?? '-'],
    ['closed', job.closedAt ?? '-'],
  ];
  context.print(table(lines));
}

export async function toolsCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {});
  const context = createContext(values);
  const tools = await context.client.listTools();
  if (context.json) {
    context.print(JSON.stringify(tools, null, 2));
    return ExitCode.ok;
  }
  const rows = tools.map((tool) => [
    tool.slug,
    String(tool.credits),
    `${Math.round(tool.input.maxSizeBytes / 1024 / 1024)} MB`,
    tool.apiJobCreation,
    tool.input.contentTypes.join(', '),
  ]);
  context.print(
    table([['TOOL', 'CREDITS', 'MAX SIZE', 'STATUS', 'INPUT'], ...rows]),
  );
  return ExitCode.ok;
}

export async function creditsCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {});
  const context = createContext(values);
  const credits = await context.client.getCredits();
  if (context.json) {
    context.print(JSON.stringify(credits, null, 2));
    return ExitCode.ok;
  }
  context.print(`balance: ${credits.balance}`);
  const rows = credits.entries.map((entry) => [
    entry.at,
    entry.kind,
    String(entry.amount),
    entry.jobId ?? '-',
  ]);
  context.print(table([['AT', 'KIND', 'AMOUNT', 'JOB'], ...rows]));
  return ExitCode.ok;
}

async function listJobs(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    status: { type: 'string' },
    limit: { type: 'string', default: '50' },
  });
  if (positionals.length > 0) {
    throw new UsageError(
      `jobs list takes no arguments, got ${positionals[0]}.`,
    );
  }
  const status = values.status as JobStatus | undefined;
  if (status !== undefined && !JOB_STATUSES.includes(status)) {
    throw new UsageError(
      `--status ${status} is not a status. Use one of ${JOB_STATUSES.join(', ')}.`,
    );
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`--limit ${values.limit} is not a positive number.`);
  }

  const context = createContext(values);
  const jobs: Job[] = [];
  const pageSize = Math.min(limit, 100);
  for await (const job of context.client.iterateJobs({ status, pageSize })) {
    jobs.push(job);
    if (jobs.length >= limit) break;
  }
  if (context.json) {
    context.print(JSON.stringify(jobs, null, 2));
    return ExitCode.ok;
  }
  const rows = jobs.map((job) => [
    job.id,
    job.toolSlug,
    job.status,
    job.stage,
    job.createdAt,
  ]);
  context.print(table([['ID', 'TOOL', 'STATUS', 'STAGE', 'CREATED'], ...rows]));
  return ExitCode.ok;
}

async function jobCommand(action: string, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {});
  const [jobId, extra] = positionals;
  if (!jobId || extra !== undefined) {
    throw new UsageError(`Usage: boringkit jobs ${action} <job-id>`);
  }
  const context = createContext(values);
  const { client } = context;

  if (action === 'events') {
    const events = await client.listEvents(jobId);
    if (context.json) {
      context.print(JSON.stringify(events, null, 2));
      return ExitCode.ok;
    }
    const rows = events.map((event) => [
      String(event.revision),
      event.recordedAt,
      event.type,
    ]);
    context.print(table([['REVISION', 'RECORDED', 'TYPE'], ...rows]));
    return ExitCode.ok;
  }

  let job: Job;
  if (action === 'cancel') job = await client.cancelJob(jobId);
  else if (action === 'close') job = await client.closeJob(jobId);
  else job = await client.getJob(jobId);
  printJob(context, job);
  return ExitCode.ok;
}

export const JOBS_ACTIONS = [
  'list',
  'show',
  'events',
  'cancel',
  'close',
  'download',
];

export async function jobsCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (!action || !JOBS_ACTIONS.includes(action)) {
    throw new UsageError(
      `jobs needs an action: ${JOBS_ACTIONS.join(', ')}` +
        (action ? `, not "${action}".` : '.'),
    );
  }
  if (action === 'list') return listJobs(rest);
  if (action === 'download') return downloadCommand(rest);
  return jobCommand(action, rest);
}
