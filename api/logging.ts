import type { LoggerOptions } from 'pino';

function redactQuery(url: string): string {
  return url.replace(/([?&](signature|token)=)[^&]*/g, '$1REDACTED');
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
