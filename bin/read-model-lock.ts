import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from './config.ts';

/**
 * Pid file of the API process that owns a read model: beside the database,
 * with `.pid` in place of `.sqlite`.
 */
export function readModelLockPath(readModelPath: string): string {
  return `${readModelPath.replace(/\.sqlite$/, '')}.pid`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns the pid of a live process holding the lock, if any. */
export function readModelOwner(lockPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(lockPath, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Claims the read model for this process with a pid file, so that a second
 * API process or a replay cannot write to it at the same time. A lock left
 * by a process that died is taken over. Returns the release function.
 */
export function lockReadModel(lockPath: string): () => void {
  const owner = readModelOwner(lockPath);
  if (owner !== undefined && owner !== process.pid) {
    throw new ConfigError(
      `The read model is in use by process ${owner} (${lockPath}). Stop ` +
        'that process, or give this one its own BORINGKIT_READ_MODEL_PATH.',
    );
  }
  try {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A stale lock of a dead process, checked above.
      writeFileSync(lockPath, `${process.pid}\n`);
    }
  } catch (error) {
    throw new ConfigError(
      `The read model's lock file ${lockPath} cannot be written ` +
        `(${(error as NodeJS.ErrnoException).code ?? 'error'}). Set ` +
        'BORINGKIT_READ_MODEL_PATH to a file in a directory this user can write.',
      { cause: error },
    );
  }
  return () => {
    if (readModelOwner(lockPath) === process.pid)
      rmSync(lockPath, { force: true });
  };
}
