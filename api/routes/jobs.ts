import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import { jobStream } from '../../domain/events.ts';
import type { JobCommand } from '../../domain/job-decider.ts';
import { idempotencyKeySchema } from '../create-job-request.ts';
import { callerOf } from '../access.ts';
import { requestMetadata, type ApiContext } from '../context.ts';
import {
  jobStatusSchema,
  presentJob,
  type DownloadIntent,
  type JobEvents,
  type JobPage,
} from '../job-view.ts';
import { parseOrThrow } from '../validation.ts';

type JobRequest = FastifyRequest<{ Params: { id: string } }>;

/** Inline HTML may be up to 5 MB; JSON escaping can add about a third. */
const CREATE_BODY_LIMIT = 8 * 1024 * 1024;

export const listQuery = z.strictObject({
  status: jobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50).meta({
    description: 'Jobs per page.',
  }),
  cursor: z.string().min(1).max(200).optional().meta({
    description: 'nextCursor of the previous page; omit for the first page.',
  }),
});

function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const jobId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^job_[0-9A-Z]{26}$/.test(jobId)) {
    throw errors.invalidRequest(
      `cursor "${cursor}" is not a cursor this API returned. Pass the ` +
        'nextCursor of the previous page, or omit it for the first page.',
    );
  }
  return jobId;
}

function idempotencyKey(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(',') : header;
  if (!idempotencyKeySchema.safeParse(key).success) {
    throw errors.invalidRequest(
      'The Idempotency-Key header must be 1 to 255 visible ASCII ' +
        'characters, such as a UUID.',
    );
  }
  return key;
}

export function registerJobRoutes(app: FastifyInstance, context: ApiContext) {
  const { jobs, urls } = context;

  // Routes with `widgetToken: true` also take widget tokens, which reach
  // only the jobs they created (see JobService.getJob).
  const widgetToken = { config: { widgetToken: true } };

  app.post(
    '/v1/jobs',
    { bodyLimit: CREATE_BODY_LIMIT, ...widgetToken },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const { job, replayed } = await jobs.createJob(
        callerOf(request),
        request.body,
        key,
        requestMetadata(request),
      );
      request.log.info(
        { jobId: job.id, toolSlug: job.toolSlug, replayed },
        replayed ? 'job creation replayed' : 'job created',
      );
      if (replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(await presentJob(job, urls));
    },
  );

  app.get('/v1/jobs', async (request): Promise<JobPage> => {
    const { workspaceId } = request;
    const query = parseOrThrow(
      listQuery,
      request.query,
      errors.invalidRequest,
      {
        root: 'query',
      },
    );
    const page = context.readModel.queries.listJobs({
      workspaceId,
      status: query.status,
      limit: query.limit,
      before: decodeCursor(query.cursor),
    });
    const last = page[page.length - 1];
    return {
      data: await Promise.all(page.map((job) => presentJob(job, urls))),
      nextCursor:
        page.length === query.limit && last
          ? Buffer.from(last.id, 'utf8').toString('base64url')
          : null,
    };
  });

  app.get('/v1/jobs/:id', widgetToken, async (request: JobRequest) => {
    return presentJob(
      await jobs.getJob(callerOf(request), request.params.id),
      urls,
    );
  });

  const commandRoute = (
    path: string,
    command: JobCommand,
    event: string,
    options: { config?: { widgetToken: boolean } } = {},
  ) =>
    app.post(path, options, async (request: JobRequest) => {
      const jobId = request.params.id;
      const job = await jobs.command(
        callerOf(request),
        jobId,
        command,
        requestMetadata(request),
      );
      request.log.info({ jobId, status: job.status }, event);
      return presentJob(job, urls);
    });
  commandRoute(
    '/v1/jobs/:id/cancel',
    { type: 'CancelJob' },
    'job canceled',
    widgetToken,
  );
  commandRoute('/v1/jobs/:id/close', { type: 'CloseJob' }, 'job closed');

  app.post(
    '/v1/jobs/:id/upload-intent',
    widgetToken,
    async (request: JobRequest) => {
      const job = await jobs.issueUploadIntent(
        callerOf(request),
        request.params.id,
        requestMetadata(request),
      );
      return presentJob(job, urls);
    },
  );

  app.get(
    '/v1/jobs/:id/download-intent',
    widgetToken,
    async (request: JobRequest): Promise<DownloadIntent> => {
      const { job, expiresAt } = await jobs.issueDownloadIntent(
        callerOf(request),
        request.params.id,
        requestMetadata(request),
      );
      const { output } = job;
      if (!output) throw new Error(`succeeded job ${job.id} has no output`);
      return {
        url: await urls.download(job, expiresAt),
        expiresAt,
        name: output.name,
        contentType: output.contentType,
        sizeBytes: output.sizeBytes,
      };
    },
  );

  app.get(
    '/v1/jobs/:id/events',
    async (request: JobRequest): Promise<JobEvents> => {
      const job = await jobs.getJob(callerOf(request), request.params.id);
      const events = await context.store.readStream(jobStream(job.id));
      return {
        data: events.map((event) => ({
          type: event.type,
          revision: event.revision,
          position: event.position,
          recordedAt: event.createdAt.toISOString(),
          // Every job event's data is an object, because domain/events.ts
          // defines each event type as a z.object schema.
          data: event.data as Record<string, unknown>,
          metadata: event.metadata,
        })),
      };
    },
  );
}
