import type { ExpectedRevision } from './port.ts';

/** The stream's state did not match the revision an append required. */
export class WrongExpectedVersion extends Error {
  override readonly name = 'WrongExpectedVersion';

  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** Revision of the stream's last event, or 'no_stream'. */
    readonly actual: number | 'no_stream',
  ) {
    super(
      `Append to stream ${streamId} expected revision ${String(expected)} ` +
        `but the stream is at ${String(actual)}`,
    );
  }
}
