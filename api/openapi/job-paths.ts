import { z } from 'zod';
import type {
  ZodOpenApiOperationObject,
  ZodOpenApiPathsObject,
} from 'zod-openapi';
import { errors } from '../../domain/errors.ts';
import {
  createJobRequest,
  idempotencyKeySchema,
} from '../create-job-request.ts';
import {
  downloadIntentSchema,
  jobEventsSchema,
  jobPageSchema,
  jobViewSchema,
} from '../job-view.ts';
import { listQuery } from '../routes/jobs.ts';
import {
  API_KEY_ONLY,
  AUTHENTICATED,
  JOB_PATH,
  JSON_BODY,
  problemResponses,
  WIDGET_TOKEN_SECURITY,
  type ProblemFactory,
} from './problem-responses.ts';

/** The `{id}` path parameter of every job route. */
export const jobIdPath = z.object({
  id: z.string().max(100).meta({
    description: 'Job id, as returned by POST /v1/jobs.',
    example: 'job_01JF8Z5QK00000000000000000',
  }),
});

const jobJson = { 'application/json': { schema: jobViewSchema } };

/**
 * A POST on one job that returns the job, such as cancel. With
 * `widgetToken`, widget tokens may send it for the jobs they created.
 */
function jobCommand(
  operationId: string,
  summary: string,
  description: string,
  widgetToken: boolean,
  ...problems: ProblemFactory[]
): ZodOpenApiOperationObject {
  return {
    tags: ['Jobs'],
    operationId,
    summary,
    description,
    ...(widgetToken ? { security: WIDGET_TOKEN_SECURITY } : {}),
    requestParams: { path: jobIdPath },
    responses: {
      '200': { description: 'The job after the command.', content: jobJson },
      ...problemResponses(
        AUTHENTICATED,
        JSON_BODY,
        JOB_PATH,
        widgetToken ? [] : API_KEY_ONLY,
        ...problems,
      ),
    },
  };
}

export const jobPaths: ZodOpenApiPathsObject = {
  '/v1/jobs': {
    post: {
      tags: ['Jobs'],
      operationId: 'createJob',
      summary: 'Create a job',
      description:
        'Creates a job for a tool and charges its credits. A file input ' +
        'gets an uploadIntent: PUT the bytes to its URL. Inline text ' +
        '(tools with input.inlineText) needs no upload. With an ' +
        'Idempotency-Key, sending the same request again returns the ' +
        'same job instead of creating another. A widget token creates ' +
        'jobs only for its tools and up to its maxJobs; its ' +
        'Idempotency-Keys are its own.',
      security: WIDGET_TOKEN_SECURITY,
      requestParams: {
        header: z.object({
          'Idempotency-Key': idempotencyKeySchema.optional(),
        }),
      },
      requestBody: {
        required: true,
        content: { 'application/json': { schema: createJobRequest } },
      },
      responses: {
        '201': { description: 'The job was created.', content: jobJson },
        '200': {
          description:
            'A replay: the job that an earlier request with this ' +
            'Idempotency-Key and the same body created.',
          headers: z.object({
            'Idempotent-Replayed': z.literal('true').meta({
              description: 'Present on a replayed creation.',
            }),
          }),
          content: jobJson,
        },
        ...problemResponses(
          AUTHENTICATED,
          JSON_BODY,
          errors.invalidRequest,
          errors.invalidOptions,
          errors.insufficientCredits,
          errors.toolNotFound,
          errors.idempotencyKeyInFlight,
          errors.jobStateConflict,
          errors.inputTooLarge,
          errors.unsupportedContentType,
          errors.uploadContentInvalid,
          errors.idempotencyKeyReused,
          errors.toolUnavailable,
          errors.widgetTokenToolNotAllowed,
          errors.widgetTokenJobLimitReached,
        ),
      },
    },
    get: {
      tags: ['Jobs'],
      operationId: 'listJobs',
      summary: 'List jobs',
      description:
        "The workspace's jobs, newest first, without closed ones. Follow " +
        'nextCursor for the next page.',
      requestParams: { query: listQuery },
      responses: {
        '200': {
          description: 'A page of jobs.',
          content: { 'application/json': { schema: jobPageSchema } },
        },
        ...problemResponses(AUTHENTICATED, API_KEY_ONLY, errors.invalidRequest),
      },
    },
  },
  '/v1/jobs/{id}': {
    get: {
      tags: ['Jobs'],
      operationId: 'getJob',
      summary: 'Get a job',
      description:
        "One job, also after it was closed. Another workspace's job is " +
        '404, and so is a job that the widget token did not create.',
      security: WIDGET_TOKEN_SECURITY,
      requestParams: { path: jobIdPath },
      responses: {
        '200': { description: 'The job.', content: jobJson },
        ...problemResponses(AUTHENTICATED, JOB_PATH),
      },
    },
  },
  '/v1/jobs/{id}/cancel': {
    post: jobCommand(
      'cancelJob',
      'Cancel a job',
      'Cancels a queued or running job. A queued job is refunded in full, ' +
        'and a running job keeps at most one credit.',
      true,
      errors.jobNotCancelable,
      errors.jobStateConflict,
    ),
  },
  '/v1/jobs/{id}/close': {
    post: jobCommand(
      'closeJob',
      'Close a job',
      'Hides a finished job from the list, but its events and output ' +
        'metadata stay. Closing twice changes nothing.',
      false,
      errors.jobNotFinished,
      errors.jobStateConflict,
    ),
  },
  '/v1/jobs/{id}/upload-intent': {
    post: jobCommand(
      'renewUploadIntent',
      'Renew the upload intent',
      'Issues a fresh upload URL while the job still awaits its upload.',
      true,
      errors.jobNotAwaitingUpload,
      errors.jobStateConflict,
    ),
  },
  '/v1/jobs/{id}/download-intent': {
    get: {
      tags: ['Jobs'],
      operationId: 'getDownloadIntent',
      summary: 'Get a download URL',
      description:
        'A short-lived signed GET URL for the output of a succeeded job.',
      security: WIDGET_TOKEN_SECURITY,
      requestParams: { path: jobIdPath },
      responses: {
        '200': {
          description: 'The signed URL and the output it serves.',
          content: { 'application/json': { schema: downloadIntentSchema } },
        },
        ...problemResponses(
          AUTHENTICATED,
          JOB_PATH,
          errors.jobNotSucceeded,
          errors.outputExpired,
          errors.jobStateConflict,
        ),
      },
    },
  },
  '/v1/jobs/{id}/events': {
    get: {
      tags: ['Jobs'],
      operationId: 'listJobEvents',
      summary: "List a job's events",
      description: "The job's whole event log, oldest first, for audit.",
      requestParams: { path: jobIdPath },
      responses: {
        '200': {
          description: 'The events.',
          content: { 'application/json': { schema: jobEventsSchema } },
        },
        ...problemResponses(AUTHENTICATED, API_KEY_ONLY, JOB_PATH),
      },
    },
  },
};
