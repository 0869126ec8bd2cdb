/**
 * Credit rules. A job is charged its tool's credits when it is created. A
 * queued job that is canceled, a failed job and an upload that never came
 * are refunded in full. A running job that is canceled keeps at most one
 * credit, for the engine time it used.
 */

export function refundOnCancel(
  credits: { charged: number; refunded: number },
  previousStatus: 'queued' | 'running',
): number {
  const outstanding = credits.charged - credits.refunded;
  const kept = previousStatus === 'running' ? Math.min(1, outstanding) : 0;
  return outstanding - kept;
}
