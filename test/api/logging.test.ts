import { describe, expect, it } from 'vitest';
import { redactQuery } from '../../api/logging.ts';

describe('redactQuery', () => {
  it('redacts a signature', () => {
    expect(redactQuery('/blobs/x?expires=1&signature=abc')).toBe(
      '/blobs/x?expires=1&signature=REDACTED',
    );
  });

  it('redacts a percent-encoded name', () => {
    const redacted = redactQuery('/blobs/x?expires=1&%73ignature=abc');
    expect(redacted).not.toContain('abc');
  });

  it('redacts a token of any case', () => {
    expect(redactQuery('/v1/jobs/j/stream?TOKEN=secret')).not.toContain(
      'secret',
    );
  });

  it('leaves a URL without query alone', () => {
    expect(redactQuery('/v1/jobs')).toBe('/v1/jobs');
  });
});
