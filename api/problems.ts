import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DomainError, errors } from '../domain/errors.ts';

// A URN, not a URL: nothing is fetched from a problem type.
const PROBLEM_TYPE_BASE = 'urn:boringkit:problem:';

/** RFC 9457 problem details, the body of every error response. */
export const problemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:boringkit:problem:job-not-found' }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    code: z.string().meta({
      description: 'Stable, machine-readable error code.',
      example: 'JOB_NOT_FOUND',
    }),
    detail: z.string().meta({
      description: 'What failed, naming the value and the fix.',
    }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Field problems, by dotted path.' }),
  })
  .meta({ id: 'Problem', unusedIO: 'output' });

export type Problem = z.infer<typeof problemSchema>;

function problemFactory(code: string, status: number, title: string) {
  return (detail: string) => new DomainError(code, status, title, detail);
}

/** Problems the framework raises before or around a route's handler. */
export const frameworkErrors = {
  invalidJson: problemFactory('INVALID_JSON', 400, 'Malformed JSON'),
  unsupportedMediaType: problemFactory(
    'UNSUPPORTED_MEDIA_TYPE',
    415,
    'Unsupported media type',
  ),
  bodyTooLarge: problemFactory('BODY_TOO_LARGE', 413, 'Request body too large'),
  pathParameterTooLong: problemFactory(
    'PATH_PARAMETER_TOO_LONG',
    414,
    'Path parameter too long',
  ),
  invalidUrl: problemFactory('INVALID_URL', 400, 'Invalid URL'),
  internalError: problemFactory('INTERNAL_ERROR', 500, 'Internal error'),
} as const;

export function sendProblem(reply: FastifyReply, error: DomainError) {
  const problem: Problem = {
    type: PROBLEM_TYPE_BASE + error.code.toLowerCase().replaceAll('_', '-'),
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.detail,
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send(problem);
}

/** Maps fastify's own errors (bad JSON, body limits, media types). */
function fromFastifyError(error: FastifyError): DomainError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return frameworkErrors.invalidJson(
        `The request body is not valid JSON: ${error.message}. Send a JSON ` +
          'object with Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return frameworkErrors.unsupportedMediaType(
        `${error.message}. Send the body as application/json.`,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return frameworkErrors.bodyTooLarge(
        `${error.message}. Upload large inputs through an upload intent.`,
      );
  }
  if (error instanceof SyntaxError) {
    return frameworkErrors.invalidJson(error.message);
  }
  // NOTE: these keep fastify's own FST_ERR_ codes, which the OpenAPI
  // document does not list for any operation.
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new DomainError(
      error.code ?? 'BAD_REQUEST',
      error.statusCode,
      'Bad request',
      error.message,
    );
  }
  return undefined;
}

/** Maps the router's own errors, which it raises before any route runs. */
export function fromFrameworkError(error: FastifyError): DomainError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return frameworkErrors.pathParameterTooLong(
      'A path parameter is longer than 100 characters. Job ids are 30 ' +
        'characters, such as job_01JF8Z5QK00000000000000000.',
    );
  }
  return frameworkErrors.invalidUrl(
    'The request URL could not be parsed. Check its percent-encoding.',
  );
}

/**
 * Replies with a problem to an HTTP request that Node could not parse,
 * like every other error. A reset connection gets no reply.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const body = JSON.stringify({
    type: `${PROBLEM_TYPE_BASE}malformed-http-request`,
    title: 'Malformed HTTP request',
    status: 400,
    code: 'MALFORMED_HTTP_REQUEST',
    detail: 'The HTTP request could not be parsed; send a well-formed request.',
  });
  socket.end(
    'HTTP/1.1 400 Bad Request\r\n' +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** Turns every error and unknown route into RFC 9457 problem details. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem =
      error instanceof DomainError ? error : fromFastifyError(error);
    if (problem) return sendProblem(reply, problem);

    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      reply,
      frameworkErrors.internalError(
        `The server failed to handle the request (request id ${request.id}). ` +
          'Retry later; the error is in the server log under that id.',
      ),
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      errors.routeNotFound(
        `No route ${request.method} ${request.url.split('?')[0]}. ` +
          'The API lives under /v1.',
      ),
    ),
  );
}
