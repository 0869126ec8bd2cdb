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

  it('redacts a signature hidden in another value', () => {
    expect(redactQuery('/blobs/x?expires=1;signature=abc')).not.toContain(
      'abc',
    );
  });

  it('redacts a signature hidden in a name', () => {
    expect(redactQuery('/blobs/x?expires=1&signature%3Dabc')).not.toContain(
      'abc',
    );
  });

  it('keeps plain list parameters', () => {
    expect(redactQuery('/v1/jobs?status=running&limit=5')).toBe(
      '/v1/jobs?status=running&limit=5',
    );
  });

  it('leaves a URL without query alone', () => {
    expect(redactQuery('/v1/jobs')).toBe('/v1/jobs');
  });
});
