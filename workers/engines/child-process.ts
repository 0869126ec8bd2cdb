import { spawn, type ChildProcess } from 'node:child_process';

/** Exit status and output of a child of {@link runInOwnProcessGroup}. */
export interface ChildResult {
  /** Exit code, or null when a signal ended the child. */
  code: number | null;
  /** Signal that ended the child, or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last `maxBufferBytes` of stderr, which end with a failure's reason. */
  stderr: string;
}

/** Children passed to {@link killOnExit} that have not exited yet. */
const runningChildren = new Set<ChildProcess>();

function killRunningChildren(): void {
  for (const child of runningChildren) {
    child.kill('SIGKILL');
  }
}

/**
 * Kills `child` with SIGKILL if this process exits first. A child in a
 * process group of its own gets no signal from the terminal, so without
 * this it would outlive the worker.
 */
export function killOnExit(child: ChildProcess): void {
  // A child without a pid failed to spawn and emits 'error' instead.
  const ended = child.exitCode !== null || child.signalCode !== null;
  if (child.pid === undefined || ended) {
    return;
  }
  if (runningChildren.size === 0) {
    // NOTE: a SIGKILL or an unhandled SIGHUP of this process skips 'exit',
    // and the children then run until their command ends.
    process.once('exit', killRunningChildren);
  }
  runningChildren.add(child);
  child.once('exit', () => {
    runningChildren.delete(child);
    if (runningChildren.size === 0) {
      process.removeListener('exit', killRunningChildren);
    }
  });
}

/**
 * Runs `file` in a process group of its own, so that a Ctrl-C in the
 * terminal does not reach it, and resolves once it ended, whatever its exit
 * code. An abort kills it with SIGKILL and rejects with the signal's reason
 * once it exited. A child that cannot start, or that writes more than
 * `maxBufferBytes` to stdout, rejects with an error.
 */
export function runInOwnProcessGroup(
  file: string,
  args: readonly string[],
  options: { signal: AbortSignal; maxBufferBytes: number },
): Promise<ChildResult> {
  const { signal, maxBufferBytes } = options;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    const kill = () => child.kill('SIGKILL');
    signal.addEventListener('abort', kill, { once: true });

    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxBufferBytes) {
        kill();
      } else {
        stdout.push(chunk);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]).subarray(-maxBufferBytes);
    });

    let settled = false;
    const settle = (outcome: ChildResult | Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', kill);
      if (signal.aborted) {
        reject(signal.reason);
      } else if (outcome instanceof Error) {
        reject(outcome);
      } else {
        resolve(outcome);
      }
    };
    child.once('error', (error) => settle(error));
    child.once('close', (code, killSignal) => {
      if (stdoutBytes > maxBufferBytes) {
        settle(
          new Error(
            `${file} wrote more than ${maxBufferBytes} bytes to stdout, ` +
              'the most it may write here.',
          ),
        );
        return;
      }
      settle({
        code,
        signal: killSignal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: stderr.toString('utf8'),
      });
    });
  });
}
