import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * A file in the upload directory that has not changed for this long
 * belongs to a process that died: a live upload writes to its file all the
 * time, and the check of a presigned upload takes seconds.
 */
export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes the partial uploads that API processes killed mid-upload left in
 * `directory`, which API processes on one data dir share.
 */
export async function removeStaleUploads(
  directory: string,
  logger: Logger,
  now = Date.now(),
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    // Uploads to this directory then fail with their own error.
    logger.warn({ err: error, directory }, 'upload directory not readable');
    return;
  }
  for (const name of names) {
    const file = join(directory, name);
    try {
      const info = await stat(file);
      if (!info.isFile() || now - info.mtimeMs < STALE_UPLOAD_MS) continue;
      await rm(file, { force: true });
      logger.info({ file }, 'stale partial upload removed');
    } catch (error) {
      logger.warn({ err: error, file }, 'stale partial upload not removed');
    }
  }
}
