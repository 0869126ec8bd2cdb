import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, errors } from '../../domain/errors.ts';
import { jobStream } from '../../domain/events.ts';
import { jobModel } from '../../domain/job-model.ts';
import { isTerminal, type JobState } from '../../domain/job-state.ts';
import { loadStream } from '../../eventstore/command-handler.ts';
import { inputKey, outputKey } from '../../storage/port.ts';
import type { BlobAccess } from '../../storage/signed-urls.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { contentProblem, sizeProblem } from '../upload-checks.ts';
import type { ApiContext } from '../context.ts';

type BlobRequest = FastifyRequest<{
  Params: { id: string };
  Querystring: { expires?: string; signature?: string };
}>;

/** Counts bytes and fails as soon as the body passes the declared size. */
function sizeGuard(declared: number) {
  let received = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > declared) {
        callback(
          errors.uploadTooLong(
            `The upload passed the declared ${declared} bytes. PUT exactly ` +
              'input.sizeBytes bytes, or create a job with the real size.',
          ),
        );
        return;
      }
      callback(null, chunk);
    },
  });
  return { guard, received: () => received };
}

function mediaType(value: string | undefined): string {
  const [essence = ''] = (value ?? '').split(';');
  return essence.trim().toLowerCase();
}

/** RFC 6266 attachment header with an ASCII fallback and a UTF-8 name. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function registerBlobRoutes(app: FastifyInstance, context: ApiContext) {
  const uploads = new KeyedMutex();

  function verify(
    request: BlobRequest,
    method: 'PUT' | 'GET',
    blob: BlobAccess,
  ) {
    const { expires, signature } = request.query;
    if (
      !expires ||
      !signature ||
      !context.signer.verify(
        method,
        request.params.id,
        blob,
        expires,
        signature,
      )
    ) {
      throw errors.invalidSignature(
        'The URL signature is missing or invalid. Use the URL exactly as ' +
          'the API returned it.',
      );
    }
    return Number(expires) * 1000 >= Date.now();
  }

  async function receive(request: BlobRequest, job: JobState) {
    const declaredType = job.input.contentType;
    if (mediaType(request.headers['content-type']) !== declaredType) {
      throw errors.uploadContentTypeMismatch(
        `Content-Type "${request.headers['content-type'] ?? ''}" does not ` +
          `match the declared ${declaredType}. Send the header from the ` +
          'upload intent.',
      );
    }
    const declaredSize = job.input.sizeBytes;
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) !== declaredSize) {
      const detail =
        `Content-Length ${length} does not match the declared ` +
        `${declaredSize} bytes. PUT exactly input.sizeBytes bytes.`;
      throw Number(length) > declaredSize
        ? errors.uploadTooLong(detail)
        : errors.uploadTooShort(detail);
    }

    await mkdir(context.uploadTempDir, { recursive: true });
    const temporary = join(context.uploadTempDir, `${job.id}-${randomUUID()}`);
    try {
      const { guard, received } = sizeGuard(declaredSize);
      await pipeline(request.raw, guard, createWriteStream(temporary)).catch(
        (error: unknown) => {
          if (error instanceof DomainError || !request.raw.destroyed) {
            throw error;
          }
          // The client went away mid-upload: nothing to store, no fault here.
          throw errors.uploadTooShort(
            `The connection closed after ${received()} of the declared ` +
              `${declaredSize} bytes. PUT the whole file again.`,
          );
        },
      );
      const problem =
        sizeProblem(received(), declaredSize) ??
        (await contentProblem(temporary, declaredType));
      if (problem) throw problem;
      return await context.storage.write(
        inputKey(job.id),
        createReadStream(temporary),
      );
    } finally {
      await rm(temporary, { force: true });
    }
  }

  app.register(async (scope) => {
    // Upload bodies stream to disk in the handler instead of being parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    // Pages on the origins of the widget token that created the job may
    // use these URLs across origins (see api/cors.ts).
    const blobCors = { config: { blobCors: true } };

    scope.put(
      '/blobs/jobs/:id/input',
      blobCors,
      async (request: BlobRequest, reply) => {
        const jobId = request.params.id;
        if (!verify(request, 'PUT', 'input')) {
          const { state } = await loadStream(
            context.store,
            jobStream(jobId),
            jobModel,
          );
          const renewable =
            state?.stage === 'awaiting_upload' &&
            !isTerminal(state) &&
            Date.parse(state.deadlineAt) > Date.now();
          throw errors.uploadIntentExpired(
            renewable
              ? 'This upload URL expired. Request a new one with ' +
                  `POST /v1/jobs/${jobId}/upload-intent.`
              : `This upload URL expired and job ${jobId} no longer takes an ` +
                  'upload. Create a new job.',
          );
        }

        // One upload at a time per job, so a refused duplicate cannot remove
        // the blob another request just stored.
        const job = await uploads
          .run(jobId, async () => {
            const { state } = await loadStream(
              context.store,
              jobStream(jobId),
              jobModel,
            );
            if (!state) throw errors.jobNotFound(`No job ${jobId}.`);
            if (state.stage !== 'awaiting_upload' || isTerminal(state)) {
              throw errors.jobNotAwaitingUpload(
                `Job ${jobId} is ${state.status} (${state.stage}) and takes no ` +
                  'upload.',
              );
            }

            const stored = await receive(request, state);
            try {
              return await context.jobs.run(
                jobId,
                {
                  type: 'RecordUpload',
                  ...stored,
                  contentType: state.input.contentType,
                },
                { requestId: request.id, actor: 'upload-url' },
              );
            } catch (error) {
              await context.storage.remove(inputKey(jobId));
              throw error;
            }
          })
          .catch((error: unknown) => {
            if (error instanceof DomainError)
              reply.header('Connection', 'close');
            throw error;
          });

        request.log.info(
          { jobId, sizeBytes: job.input.sizeBytes },
          'input uploaded',
        );
        return { id: job.id, status: job.status, stage: job.stage };
      },
    );

    scope.get(
      '/blobs/jobs/:id/output',
      blobCors,
      async (request: BlobRequest, reply) => {
        const jobId = request.params.id;
        if (!verify(request, 'GET', 'output')) {
          throw errors.downloadUrlExpired(
            'This download URL expired. Request a new one with ' +
              `GET /v1/jobs/${jobId}/download-intent.`,
          );
        }
        const job = context.readModel.queries.getJob(jobId);
        if (!job?.output)
          throw errors.jobNotFound(`No output for job ${jobId}.`);
        if (job.deleted.output) {
          throw errors.outputExpired(
            `The output of job ${jobId} expired at ` +
              `${job.retention.outputExpiresAt} and was deleted.`,
          );
        }

        request.log.info({ jobId }, 'output downloaded');
        return reply
          .header('Content-Type', job.output.contentType)
          .header('Content-Length', job.output.sizeBytes)
          .header('Content-Disposition', attachment(job.output.name))
          .header('Cache-Control', 'private, no-store')
          .send(await context.storage.read(outputKey(jobId)));
      },
    );
  });
}
