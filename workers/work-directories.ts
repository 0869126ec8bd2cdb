import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * Identity of a process that owns a work directory. A pid alone is reused,
 * so the start time and the boot id tell the owner from a later process
 * with the same pid.
 */
export interface WorkDirectoryOwner {
  /** `os.hostname()`, with characters other than `A-Za-z0-9._-` as `_`. */
  hostname: string;
  /** `/proc/sys/kernel/random/boot_id` without dashes, or `unknown`. */
  bootId: string;
  pid: number;
  /** Start time in clock ticks after boot, from `/proc/PID/stat`, or `unknown`. */
  startTime: string;
  /** Inode of the process's PID namespace, from `/proc/PID/ns/pid`, or `unknown`. */
  pidNamespace: string;
}

const UNKNOWN = 'unknown';

/**
 * Name of a worker's directory: `HOSTNAME-PID-STARTTIME-BOOTID-PIDNS-RANDOM`.
 * The host name may contain dashes, so the fields are read from the right.
 */
const DIRECTORY_NAME =
  /^(.+)-([1-9]\d*)-(\d+|unknown)-([0-9a-f]{32}|unknown)-(\d+|unknown)-[0-9a-f]+$/;

/**
 * Returns the identity of the running process `pid` on this host. Without
 * /proc (not Linux), the boot id and start time are `unknown`.
 */
export async function identifyProcess(
  pid: number,
): Promise<WorkDirectoryOwner> {
  const startTime = await readStartTime(pid).catch(() => undefined);
  return {
    hostname: hostname().replace(/[^A-Za-z0-9._-]/g, '_'),
    bootId: await readBootId(),
    pid,
    startTime: startTime ?? UNKNOWN,
    pidNamespace: await readPidNamespace(pid),
  };
}

/** Returns the name under which `owner` creates its work directory. */
export function workDirectoryName(owner: WorkDirectoryOwner): string {
  const suffix = randomBytes(4).toString('hex');
  return [
    owner.hostname,
    owner.pid,
    owner.startTime,
    owner.bootId,
    owner.pidNamespace,
    suffix,
  ].join('-');
}

/**
 * Creates this process's work directory under `workRoot`, which worker
 * processes on several hosts may share, after removing the directories of
 * this host's workers that are no longer alive. Returns its path.
 */
export async function createWorkerDirectory(
  workRoot: string,
  logger: Logger,
): Promise<string> {
  await mkdir(workRoot, { recursive: true });
  const self = await identifyProcess(process.pid);
  await removeDeadWorkerDirectories(workRoot, self, logger);

  const directory = join(workRoot, workDirectoryName(self));
  await mkdir(directory);
  return directory;
}

/**
 * Removes each directory under `workRoot` whose owner ran on `self`'s host
 * and is no longer alive, and logs each removal. Directories of other
 * hosts, and entries not named by {@link workDirectoryName}, stay.
 *
 * NOTE: work directories of versions before per-worker directories
 * (`JOBID-ATTEMPT-XXXXXX` right under `workRoot`) stay too, because a
 * worker of such a version may still be using them.
 */
export async function removeDeadWorkerDirectories(
  workRoot: string,
  self: WorkDirectoryOwner,
  logger: Logger,
): Promise<void> {
  const entries = await readdir(workRoot, { withFileTypes: true });
  for (const entry of entries) {
    const owner = entry.isDirectory()
      ? parseDirectoryName(entry.name)
      : undefined;
    if (owner?.hostname !== self.hostname || (await isAlive(owner, self))) {
      continue;
    }

    const dir = join(workRoot, entry.name);
    try {
      await rm(dir, { recursive: true, force: true });
      logger.info(
        { dir, ownerPid: owner.pid },
        'removed the work directory of a worker that is no longer running',
      );
    } catch (error) {
      logger.error(
        { err: error, dir },
        'failed to remove the work directory of a worker that is no longer running',
      );
    }
  }
}

function parseDirectoryName(name: string): WorkDirectoryOwner | undefined {
  const match = DIRECTORY_NAME.exec(name);
  if (match === null) {
    return undefined;
  }
  const [, host = '', pid = '', startTime = '', bootId = '', namespace = ''] =
    match;
  return {
    hostname: host,
    bootId,
    pid: Number(pid),
    startTime,
    pidNamespace: namespace,
  };
}

/**
 * Tells whether `owner`, a process of `self`'s host, still runs. An owner
 * that cannot be checked counts as alive, so its directory stays: also one
 * in another PID namespace, such as another container with the same host
 * name, whose pids mean other processes here.
 */
async function isAlive(
  owner: WorkDirectoryOwner,
  self: WorkDirectoryOwner,
): Promise<boolean> {
  if (
    owner.pidNamespace !== self.pidNamespace ||
    owner.pidNamespace === UNKNOWN
  ) {
    return true;
  }
  if (owner.bootId !== self.bootId) {
    // The host restarted since, which ended every process of the owner's boot.
    return false;
  }
  if (owner.startTime === UNKNOWN) {
    return processExists(owner.pid);
  }
  try {
    // A different start time means a later process took the pid over.
    return (await readStartTime(owner.pid)) === owner.startTime;
  } catch {
    return true;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Returns field 22 of /proc/PID/stat (start time in clock ticks after
 * boot), or undefined when the process does not exist. Throws when /proc
 * cannot be read for another reason.
 */
async function readStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  // The command name in brackets may contain spaces and brackets, so the
  // fields are counted from the last ')', which ends field 2.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

async function readPidNamespace(pid: number): Promise<string> {
  try {
    // The link reads `pid:[INODE]`.
    const link = await readlink(`/proc/${pid}/ns/pid`);
    return /^pid:\[(\d+)\]$/.exec(link)?.[1] ?? UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}

async function readBootId(): Promise<string> {
  try {
    const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8');
    return bootId.trim().replaceAll('-', '');
  } catch {
    return UNKNOWN;
  }
}
