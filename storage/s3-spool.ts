import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { measureBlob } from './measure.ts';
import type { StoredBlob } from './port.ts';

/**
 * Streams `body` into a new file readable by the owner only and returns its
 * size and SHA-256. The caller deletes the file.
 */
export async function spool(body: Readable, file: string): Promise<StoredBlob> {
  const measure = measureBlob();
  await pipeline(
    body,
    measure.step,
    createWriteStream(file, { flags: 'wx', mode: 0o600 }),
  );
  return measure.result();
}
