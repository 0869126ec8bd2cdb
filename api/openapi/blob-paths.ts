import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { errors } from '../../domain/errors.ts';
import { uploadReceiptSchema } from '../job-view.ts';
import { frameworkErrors } from '../problems.ts';
import { jobIdPath } from './job-paths.ts';
import { problemResponses } from './problem-responses.ts';

const signature = z.object({
  expires: z.string().regex(/^\d+$/).meta({
    description: 'Expiry in Unix seconds, part of the signed URL.',
  }),
  signature: z.string().meta({
    description: 'HMAC-SHA256 signature, part of the signed URL.',
  }),
});

/** Raw bytes, which OpenAPI 3.1 describes by media type alone. */
const binary = {};

const SIGNED_URL =
  'The URL comes from the API, signed and short-lived. Use it exactly as ' +
  'returned. It needs no Authorization header.';

// NOTE: api/routes/blobs.ts builds its upload reply without
// uploadReceiptSchema. Only the contract tests check that they agree.
export const blobPaths: ZodOpenApiPathsObject = {
  '/blobs/jobs/{id}/input': {
    put: {
      tags: ['Signed URLs'],
      operationId: 'uploadInput',
      summary: "Upload a job's input",
      description:
        `The PUT of a job's uploadIntent. ${SIGNED_URL} Send exactly ` +
        'input.sizeBytes bytes with the declared Content-Type; the bytes ' +
        'are checked against that type. A rejected upload stores nothing, ' +
        'and the URL stays usable until it expires.',
      security: [],
      requestParams: {
        path: jobIdPath,
        query: signature,
        header: z.object({
          'Content-Type': z.string().meta({
            description: 'The uploadIntent header, the declared type.',
          }),
          'Content-Length': z.string().regex(/^\d+$/).optional().meta({
            description: 'When sent, it must equal input.sizeBytes.',
          }),
        }),
      },
      requestBody: {
        required: true,
        description: 'The input bytes, sent as the declared content type.',
        content: { '*/*': { schema: binary } },
      },
      responses: {
        '200': {
          description: 'The upload was stored, and the job is ready to run.',
          content: { 'application/json': { schema: uploadReceiptSchema } },
        },
        ...problemResponses(
          errors.invalidSignature,
          errors.jobNotFound,
          errors.jobNotAwaitingUpload,
          errors.uploadIntentExpired,
          errors.uploadTooShort,
          errors.uploadTooLong,
          errors.uploadContentTypeMismatch,
          errors.uploadContentInvalid,
          frameworkErrors.pathParameterTooLong,
          frameworkErrors.invalidUrl,
          frameworkErrors.internalError,
        ),
      },
    },
  },
  '/blobs/jobs/{id}/output': {
    get: {
      tags: ['Signed URLs'],
      operationId: 'downloadOutput',
      summary: "Download a job's output",
      description: `The URL of a download intent. ${SIGNED_URL}`,
      security: [],
      requestParams: { path: jobIdPath, query: signature },
      responses: {
        '200': {
          description: 'The output bytes.',
          headers: z.object({
            'Content-Type': z.string().meta({
              description: "The output's content type.",
            }),
            'Content-Length': z.string().regex(/^\d+$/),
            'Content-Disposition': z.string().meta({
              description:
                'attachment, with the output name as filename and filename*.',
            }),
            'Cache-Control': z.literal('private, no-store'),
          }),
          content: { '*/*': { schema: binary } },
        },
        ...problemResponses(
          errors.invalidSignature,
          errors.jobNotFound,
          errors.downloadUrlExpired,
          errors.outputExpired,
          frameworkErrors.pathParameterTooLong,
          frameworkErrors.invalidUrl,
          frameworkErrors.internalError,
        ),
      },
    },
  },
};
