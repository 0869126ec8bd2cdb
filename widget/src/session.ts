/**
 * The job a widget showed, kept in sessionStorage so that a reload of the
 * page finds it again. Storage can be missing or full (private windows,
 * sandboxed frames), in which case a reload starts afresh.
 */

const PREFIX = 'boringkit-job:';

/** Returns the storage key of one widget: endpoint, tool and element id. */
export function savedJobKey(
  endpoint: string,
  tool: string,
  elementId: string,
): string {
  return `${PREFIX}${endpoint}|${tool}|${elementId}`;
}

export function loadSavedJob(key: string): string | undefined {
  try {
    return sessionStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveJob(key: string, jobId: string): void {
  try {
    sessionStorage.setItem(key, jobId);
  } catch {
    // Without storage, a reload starts afresh.
  }
}

export function forgetJob(key: string): void {
  try {
    sessionStorage.removeItem(key);
  } catch {
    // Nothing was stored.
  }
}
