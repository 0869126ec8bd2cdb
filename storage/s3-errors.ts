export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)
    ?.$metadata?.httpStatusCode;
}

/**
 * Reports whether a GetObject error means a missing key: NoSuchKey, or a 404
 * without an error code. NoSuchBucket is a configuration error instead.
 */
export function isMissingObject(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  if (name === 'NoSuchKey') return true;
  return httpStatus(error) === 404 && name !== 'NoSuchBucket';
}

/** Reports whether an upload failure is worth another attempt. */
export function isTransient(error: unknown): boolean {
  const status = httpStatus(error);
  // No HTTP status means a network failure or a timeout.
  if (status === undefined) return true;
  return status === 429 || status >= 500;
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatus(error);
  const suffix = status === undefined ? '' : ` (HTTP ${status})`;
  return `${error.name}: ${error.message}${suffix}`;
}
