import { describe, expect, it } from 'vitest';
import { clientMessage } from '../../workers/attempt.ts';

const ESC = String.fromCharCode(27);

describe('clientMessage', () => {
  it('drops the work directory from paths', () => {
    const error = new Error('cannot read file:/srv/work/job-1/input here');

    expect(clientMessage(error, '/srv/work/job-1')).toBe(
      'cannot read input here',
    );
  });

  it('drops a call log and colour codes', () => {
    const error = new Error(
      `page.setContent: ${ESC}[2mPage crashed${ESC}[22m\nCall log:\n` +
        `${ESC}[2m  - setting frame content${ESC}[22m`,
    );

    const message = clientMessage(error, '/srv/work/job-1');

    expect(message).toBe('page.setContent: Page crashed');
  });

  it('reads a thrown string', () => {
    expect(clientMessage('plain failure', '/srv/work')).toBe('plain failure');
  });
});
