import { readdir, readFile, readlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/service.ts';

/** Path of the LibreOffice bridge script, as it appears in its command. */
export const BRIDGE_SCRIPT = fileURLToPath(
  new URL('../../workers/engines/libreoffice-bridge.py', import.meta.url),
);

/** Bound on the time from a bridge's stop to an empty process group. */
export const CLEANUP_TIMEOUT_MS = 15_000;

/** One process, from /proc/PID/stat. */
export interface ProcessEntry {
  pid: number;
  /** The command name, such as `soffice.bin` or `oosplash`. */
  name: string;
}

interface ProcessStat extends ProcessEntry {
  state: string;
  ppid: number;
  pgid: number;
}

async function readStat(pid: string): Promise<ProcessStat | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // The process exited while the list was read.
  }
  // The name in brackets may contain spaces and brackets, so the fields
  // are counted from the last ')': state, ppid, pgrp.
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const [state = '', ppid, pgid] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ');
  return {
    pid: Number(pid),
    name,
    state,
    ppid: Number(ppid),
    pgid: Number(pgid),
  };
}

async function processTable(): Promise<ProcessStat[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const stats = await Promise.all(pids.map(readStat));
  return stats.filter((stat) => stat !== undefined);
}

/** Lists the processes of group `pgid`, zombies excluded. */
export async function groupMembers(pgid: number): Promise<ProcessEntry[]> {
  const table = await processTable();
  return table
    .filter((stat) => stat.pgid === pgid && stat.state !== 'Z')
    .map(({ pid, name }) => ({ pid, name }));
}

/** Waits until group `pgid` is empty and returns what is left at the end. */
export async function waitForEmptyGroup(pgid: number): Promise<ProcessEntry[]> {
  return waitFor(
    async () => {
      const members = await groupMembers(pgid);
      return members.length === 0 ? members : undefined;
    },
    { timeoutMs: CLEANUP_TIMEOUT_MS, what: `process group ${pgid} to end` },
  ).catch(() => groupMembers(pgid));
}

/** Returns the pid of a LibreOffice bridge that is a child of `parent`. */
export async function bridgeOf(parent: number): Promise<number | undefined> {
  for (const stat of await processTable()) {
    if (stat.ppid !== parent) continue;
    const command = await readFile(`/proc/${stat.pid}/cmdline`, 'utf8').catch(
      () => '',
    );
    if (command.includes(BRIDGE_SCRIPT)) return stat.pid;
  }
  return undefined;
}

/**
 * Waits until the group of bridge `pgid` runs soffice.bin and returns its
 * members.
 */
export function waitForSoffice(pgid: number): Promise<ProcessEntry[]> {
  return waitFor(
    async () => {
      const members = await groupMembers(pgid);
      return members.some((entry) => entry.name === 'soffice.bin')
        ? members
        : undefined;
    },
    { timeoutMs: 60_000, what: `soffice.bin in process group ${pgid}` },
  );
}

/**
 * Returns the osl pipe sockets (/tmp/OSL_PIPE_*) that processes `pids` have
 * open: the --accept pipe and SingleOfficeIPC_<hash>.
 */
export async function oslPipesOf(pids: number[]): Promise<string[]> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    }
  }
  const table = await readFile('/proc/net/unix', 'utf8');
  const paths = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode [Path]
    const fields = line.trim().split(/\s+/);
    const path = fields[7];
    if (inodes.has(fields[6] ?? '') && path?.startsWith('/tmp/OSL_PIPE_')) {
      paths.add(path);
    }
  }
  return [...paths];
}

/** Returns the profile directory that soffice.bin `pid` was started with. */
export async function profileOf(pid: number): Promise<string | undefined> {
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  const argument = command
    .split('\0')
    .find((arg) => arg.startsWith('-env:UserInstallation=file://'));
  return argument?.slice('-env:UserInstallation=file://'.length);
}

/** Returns the entries of /tmp that soffice.bin `pid` names lu<pid>*.tmp. */
export async function sofficeTempEntries(pid: number): Promise<string[]> {
  const entries = await readdir('/tmp');
  return entries.filter((name) => name.startsWith(`lu${pid}`));
}

/** Returns the path of the socket of `soffice --accept=pipe,name=NAME`. */
export function oslPipe(pipeName: string): string {
  return `/tmp/OSL_PIPE_${process.getuid!()}_${pipeName}`;
}
