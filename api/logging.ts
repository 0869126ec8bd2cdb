import type { LoggerOptions } from 'pino';

const SECRET_PARAMETERS = new Set(['signature', 'token']);

/**
 * Replaces the values of secret query parameters. The query is decoded
 * first, so an encoded name such as `%73ignature` is caught as well.
 */
export function redactQuery(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;

  const parameters = new URLSearchParams(url.slice(start + 1));
  for (const name of new Set(parameters.keys())) {
    if (SECRET_PARAMETERS.has(name.toLowerCase())) {
      parameters.set(name, 'REDACTED');
    }
  }
  return `${url.slice(0, start)}?${parameters.toString()}`;
}

/**
 * Pino options for every process: the Authorization header and the
 * signatures of signed URLs never reach the logs.
 */
export function loggerOptions(
  level = process.env.LOG_LEVEL ?? 'info',
): LoggerOptions {
  return {
    level,
    redact: ['req.headers.authorization', 'headers.authorization'],
    serializers: {
      req(request: { method: string; url: string; id: string }) {
        return {
          method: request.method,
          url: redactQuery(request.url),
          id: request.id,
        };
      },
    },
  };
}
