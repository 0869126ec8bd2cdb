import { createHash } from 'node:crypto';

import type { StoredBlob } from './port.ts';

/**
 * Creates a pipeline step that passes a blob's bytes through unchanged and
 * measures their size and SHA-256 on the way. `result()` is final once the
 * pipeline has finished.
 */
export function measureBlob(): {
  step: (source: AsyncIterable<unknown>) => AsyncGenerator<Uint8Array>;
  result: () => StoredBlob;
} {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  return {
    step: async function* (source) {
      for await (const chunk of source) {
        const bytes = toBytes(chunk);
        hash.update(bytes);
        sizeBytes += bytes.byteLength;
        yield bytes;
      }
    },
    result: () => ({ sizeBytes, sha256: hash.copy().digest('hex') }),
  };
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(
    `Blob body must yield bytes or strings, got ${typeof chunk}`,
  );
}
