import type { Observable, Subscription } from 'rxjs';

import type { SubscriptionMessage } from '../../eventstore/port.ts';

// Helpers of the event-store tests that watch subscriptions.

export function isStrictlyIncreasing(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value > (values[i - 1] ?? 0));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms and fails after `timeoutMs`. */
export async function waitFor(
  description: string,
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${String(timeoutMs)} ms waiting for ${description}`,
      );
    }
    await delay(5);
  }
}

/** Subscribes and records every message, completion and error. */
export function collect(observable: Observable<SubscriptionMessage>) {
  const messages: SubscriptionMessage[] = [];
  let completed = false;
  let failure: unknown;
  const subscription: Subscription = observable.subscribe({
    next: (message) => messages.push(message),
    error: (error: unknown) => {
      failure = error;
    },
    complete: () => {
      completed = true;
    },
  });

  const events = () =>
    messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
  const caughtUp = () =>
    messages.flatMap((m) => (m.kind === 'caughtUp' ? [m] : []));
  const caughtUpIndex = () => messages.findIndex((m) => m.kind === 'caughtUp');
  // A failed subscription ends the wait at once instead of timing out.
  const unlessFailed = (condition: () => boolean) => () => {
    if (failure !== undefined) throw failure;
    return condition();
  };

  return {
    messages,
    subscription,
    events,
    caughtUp,
    caughtUpIndex,
    isCompleted: () => completed,
    error: () => failure,
    waitForCaughtUp: () =>
      waitFor(
        'the caughtUp marker',
        unlessFailed(() => caughtUpIndex() !== -1),
      ),
    waitForEvents: (count: number) =>
      waitFor(
        `${String(count)} events`,
        unlessFailed(() => events().length >= count),
      ),
  };
}
