import { constants, existsSync } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FileError } from './exit-codes.ts';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
};

function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return (code && REASONS[code]) ?? message;
}

/**
 * Checks that `path` is a regular file that this process can open and
 * read, and returns its size in bytes.
 */
export async function checkInputFile(path: string): Promise<number> {
  const unreadable = (error: unknown) =>
    new FileError(`Cannot read the input ${path}: ${reasonOf(error)}.`);

  // The type is checked before open(), because opening a named pipe
  // blocks until a writer appears.
  const stats = await stat(path).catch((error: unknown) => {
    throw unreadable(error);
  });
  if (!stats.isFile()) {
    throw new FileError(`The input ${path} is not a file. Pass a file.`);
  }

  const file = await open(path, 'r').catch((error: unknown) => {
    throw unreadable(error);
  });
  try {
    // Some files open but fail to read, such as a few under /proc.
    await file.read(Buffer.alloc(1), 0, 1, 0);
  } catch (error) {
    throw unreadable(error);
  } finally {
    await file.close();
  }
  return stats.size;
}

/** Checks that the output directory exists and this process can write it. */
export async function checkOutputDirectory(directory: string): Promise<void> {
  const shown = resolve(directory);
  const stats = await stat(directory).catch((error: unknown) => {
    throw new FileError(
      `Cannot use the output directory ${shown}: ${reasonOf(error)}. ` +
        'Create it, or pass -o with a path in an existing directory.',
    );
  });
  if (!stats.isDirectory()) {
    throw new FileError(`The output directory ${shown} is not a directory.`);
  }
  try {
    await access(directory, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new FileError(
      `Cannot write to the output directory ${shown}: ${reasonOf(error)}. ` +
        'Pass -o with a path in a directory you can write.',
    );
  }
}

/** Checks that a file can be written at `path`, which is not a directory. */
export async function checkOutputPath(path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new FileError(
      `The output ${path} is a directory. Pass -o with a file name, ` +
        `such as ${join(path, 'output')}.`,
    );
  }
  await checkOutputDirectory(dirname(path));
}

/**
 * Returns a free file name in the current directory: `name`, or
 * `name-1.ext`, `name-2.ext` ... when it exists. The name comes from the
 * service, so only its last path segment is used.
 */
export function freePath(name: string): string {
  const file = basename(name);
  const extension = extname(file);
  const stem = basename(file, extension);
  let candidate = file;
  for (let index = 1; existsSync(candidate); index++) {
    candidate = `${stem}-${index}${extension}`;
  }
  return candidate;
}
