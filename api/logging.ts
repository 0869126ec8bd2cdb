import type { LoggerOptions } from 'pino';

/** Query parameters whose plain values may appear in logs. */
const LOGGED_PARAMETERS = new Set(['expires', 'status', 'limit', 'cursor']);
const SECRET_PARAMETERS = new Set(['signature', 'token']);
const PLAIN_VALUE = /^[\w-]{0,200}$/;

/**
 * Rewrites a URL's query for logging from an allowlist: known parameters
 * keep plain values, secrets and odd values become REDACTED, and unknown
 * parameters are replaced whole. The query is decoded first, so a secret
 * hidden by percent-encoding or inside another parameter is caught too.
 */
export function redactQuery(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;

  const pairs: string[] = [];
  for (const [name, value] of new URLSearchParams(url.slice(start + 1))) {
    if (LOGGED_PARAMETERS.has(name) && PLAIN_VALUE.test(value)) {
      pairs.push(`${name}=${value}`);
    } else if (LOGGED_PARAMETERS.has(name) || SECRET_PARAMETERS.has(name)) {
      pairs.push(`${name}=REDACTED`);
    } else {
      pairs.push('REDACTED');
    }
  }
  return `${url.slice(0, start)}?${pairs.join('&')}`;
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
