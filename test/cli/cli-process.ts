import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const LAUNCHER = resolve('bin/boringkit.mjs');

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export interface CliOptions {
  cwd: string;
  /** The whole environment of the command, besides PATH. */
  env?: NodeJS.ProcessEnv;
  /** Runs the command as this user, which needs root. */
  user?: { uid: number; gid: number };
}

/**
 * Returns the user for tests of file permissions. Root reads and writes any
 * file, so under root it is `nobody` (uid and gid 65534).
 */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: 65_534, gid: 65_534 } : undefined;
}

/** Starts `boringkit` as a child process and collects its output. */
export function startCli(args: string[], options: CliOptions): CliRun {
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.user,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `boringkit` to its end and returns its exit code and output. */
export async function runCli(args: string[], options: CliOptions) {
  const run = startCli(args, options);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Parses every line of `text` as JSON, failing on the first that is not. */
export function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}
