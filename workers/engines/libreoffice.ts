import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { isExecutable } from './executable.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { InvalidInputError, type EngineStatus } from '../tool.ts';

const BRIDGE_SCRIPT = fileURLToPath(
  new URL('./libreoffice-bridge.py', import.meta.url),
);
/** Debian's interpreter, because python3-uno is built only for it. */
const DEFAULT_PYTHON = '/usr/bin/python3';
const DEFAULT_SOFFICE = '/usr/bin/soffice';
/** Path of the `uno` module as Debian's python3-uno installs it. */
const UNO_MODULE = '/usr/lib/python3/dist-packages/uno.py';
const START_TIMEOUT_MS = 90_000;
/** How long a listener may take to stop before it is killed with SIGKILL. */
const CLOSE_TIMEOUT_MS = 5_000;
/**
 * How long a bridge may take to exit after SIGTERM before its group is
 * killed with SIGKILL. Bridges exited about 0.15 s after SIGTERM in
 * test/tools/office-bridge-exit.test.ts on a 2-core machine.
 */
const TERMINATE_TIMEOUT_MS = 2_000;

/**
 * Document family of a conversion. The bridge applies page setup to
 * `spreadsheet` and `csv` and reads `csv` with Calc's CSV filter.
 */
export type OfficeDocumentKind = 'word' | 'slides' | 'spreadsheet' | 'csv';

/** One request to {@link LibreOfficePool.convert}. */
export interface OfficeConversion {
  /** PDF export filter, such as `writer_pdf_Export`. */
  filter: string;
  /** Import filter, such as `MS Word 2007 XML`. Detected when omitted. */
  importFilter?: string;
  kind: OfficeDocumentKind;
  /**
   * Page setup of spreadsheets (`landscape`, `fitToWidth`) and the CSV
   * `csvDelimiter`. CSV input must be UTF-8.
   */
  options?: Record<string, unknown>;
}

interface BridgeResult {
  id: number;
  ok: boolean;
  code?: string;
  message?: string;
}

/** Reports whether soffice and python3-uno are installed, launching nothing. */
export function libreOfficeStatus(
  paths: { soffice?: string; python?: string } = {},
): EngineStatus {
  const soffice = paths.soffice ?? DEFAULT_SOFFICE;
  const python = paths.python ?? DEFAULT_PYTHON;
  if (!isExecutable(soffice)) {
    return {
      available: false,
      reason: `No executable soffice at ${soffice}. Install Debian's libreoffice-writer-nogui, -calc-nogui and -impress-nogui.`,
    };
  }
  if (!isExecutable(python)) {
    return { available: false, reason: `No executable Python at ${python}.` };
  }
  try {
    accessSync(UNO_MODULE, constants.R_OK);
  } catch {
    return {
      available: false,
      reason: `The uno module is missing at ${UNO_MODULE}. Install python3-uno.`,
    };
  }
  return { available: true };
}

/** Settings of a {@link LibreOfficePool}. */
export interface LibreOfficePoolOptions {
  /** Listeners run at once (default: 2, or 1 on a single core). */
  size?: number;
  /** Conversions one listener serves before it is replaced (default 200). */
  maxJobsPerMember?: number;
  /** Upper bound of one conversion in ms (default 120 000). */
  jobTimeoutMs?: number;
  sofficePath?: string;
  pythonPath?: string;
  /** Directory for the listeners' profile directories (default tmpdir). */
  profileParent?: string;
  logger?: Logger;
}

let pipeCounter = 0;

/**
 * Returns the socket that soffice creates for `--accept=pipe,name=NAME`.
 * LibreOffice's sal/osl/unx/pipe.cxx puts it in /tmp, or in /var/tmp when
 * /tmp is not writable, whatever TMPDIR is, and names it after the uid.
 */
function oslPipePath(pipeName: string): string {
  let parent = '/tmp';
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    parent = '/var/tmp';
  }
  return join(parent, `OSL_PIPE_${process.getuid?.()}_${pipeName}`);
}

/**
 * One bridge process and the soffice it started, in one process group of
 * their own, so that one signal to the group stops both.
 */
class Member {
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  jobs = 0;
  #stopped: Promise<void> | undefined;
  #pending: ((result: BridgeResult | Error) => void) | undefined;
  #nextId = 1;
  #stderr = '';

  constructor(
    readonly child: ChildProcess,
    readonly profileDir: string,
  ) {
    if (child.stdout === null) {
      throw new Error('The LibreOffice bridge was spawned without stdout.');
    }
    const lines = createInterface({ input: child.stdout });
    let markReady: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });

    lines.on('line', (line) => {
      let message: BridgeResult & { ready?: boolean };
      try {
        message = JSON.parse(line) as BridgeResult & { ready?: boolean };
      } catch {
        // Not a result: keep it with stderr for the exit message.
        this.#stderr = `${this.#stderr}${line}\n`.slice(-4096);
        return;
      }
      if ('ready' in message) {
        if (message.ready) {
          markReady();
        } else {
          failStart(
            new Error(`LibreOffice failed to start: ${message.message}`),
          );
        }
        return;
      }
      this.#pending?.(message);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      // The last few kB are enough for a Python traceback.
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4096);
    });

    this.exited = new Promise((resolve) => {
      const onExit = (outcome: string) => {
        const error = new Error(
          `The LibreOffice bridge ${outcome}. ${this.#stderr.trim()}`,
        );
        failStart(error);
        this.#pending?.(error);
        // soffice outlives a bridge that crashed, so kill the rest of the
        // group (a no-op after a clean stop).
        this.kill();
        resolve();
      };
      child.once('exit', (code, signal) => {
        onExit(`exited (code ${code}, signal ${signal})`);
      });
      // A bridge that failed to spawn emits 'error' and never 'exit'.
      child.once('error', (error) => {
        if (child.pid === undefined) {
          onExit(`failed to start: ${error.message}`);
        }
      });
    });
    // Swallowed here because `exited` and `ready` report them. A write to
    // the stdin of a bridge that just died fails with EPIPE, for example.
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    this.ready.catch(() => undefined);
  }

  /** Sends one request and resolves with the bridge's result or exit. */
  send(
    request: OfficeConversion & { input: string; output: string },
  ): Promise<BridgeResult> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending = (result) => {
        this.#pending = undefined;
        if (result instanceof Error) {
          reject(result);
        } else if (result.id === id) {
          resolve(result);
        }
      };
      this.child.stdin?.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  /**
   * Sends SIGTERM to the bridge, which kills soffice at once, even in the
   * middle of a conversion, and removes the profile and the sockets that
   * soffice leaves behind. Kills the group if the bridge is still running
   * after {@link TERMINATE_TIMEOUT_MS}.
   */
  terminate(): void {
    // ChildProcess.kill sends nothing to a bridge that has exited (whose pid
    // may be reused), and `exited` then kills the rest of its group.
    if (!this.child.kill('SIGTERM')) {
      return;
    }
    const timer = setTimeout(() => this.kill(), TERMINATE_TIMEOUT_MS);
    // Unreferenced, so that a pending timer does not keep this process up.
    timer.unref();
    void this.exited.then(() => clearTimeout(timer));
  }

  /**
   * Kills the bridge and soffice at once with SIGKILL to their group, which
   * leaves the profile directory and soffice's sockets behind.
   */
  kill(): void {
    // Without a pid, the bridge never started, and -0 would be this
    // process's own group.
    if (this.child.pid === undefined) {
      return;
    }
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }

  /**
   * Asks the bridge to stop soffice, then kills both if they linger past
   * {@link CLOSE_TIMEOUT_MS}. Resolves once the bridge exited.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.child.stdin?.end();
      const timer = setTimeout(() => this.kill(), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.#stopped;
  }
}

interface Slot {
  member: Member | undefined;
  busy: boolean;
}

/**
 * A fixed number of warm LibreOffice listeners, each with its own profile
 * directory, driven over UNO by a Python bridge. A listener starts on first
 * use and is replaced after `maxJobsPerMember` conversions, when it exits,
 * when a conversion times out and when a conversion is aborted.
 */
export class LibreOfficePool {
  readonly #size: number;
  readonly #maxJobsPerMember: number;
  readonly #jobTimeoutMs: number;
  readonly #sofficePath: string;
  readonly #pythonPath: string;
  readonly #profileParent: string;
  readonly #logger: Logger | undefined;
  readonly #slots: Slot[];
  readonly #waiters: ((slot: Slot) => void)[] = [];
  /**
   * Every started member, retired and discarded ones included, until it has
   * exited and its profile directory is removed. Each maps to the promise
   * of that cleanup.
   */
  readonly #members = new Map<Member, Promise<void>>();
  /** Member starts in progress, which create a profile directory first. */
  readonly #starting = new Set<Promise<Member>>();
  readonly #terminateAll = () => {
    for (const member of this.#members.keys()) {
      member.terminate();
    }
  };

  constructor(options: LibreOfficePoolOptions = {}) {
    this.#size = options.size ?? Math.min(2, availableParallelism());
    this.#maxJobsPerMember = options.maxJobsPerMember ?? 200;
    this.#jobTimeoutMs = options.jobTimeoutMs ?? 120_000;
    this.#sofficePath = options.sofficePath ?? DEFAULT_SOFFICE;
    this.#pythonPath = options.pythonPath ?? DEFAULT_PYTHON;
    this.#profileParent = options.profileParent ?? tmpdir();
    this.#logger = options.logger;
    this.#slots = Array.from({ length: this.#size }, () => ({
      member: undefined,
      busy: false,
    }));
  }

  /**
   * Converts `inputPath` to the PDF `outputPath` on a free listener,
   * waiting for one when all are busy. Rejects with an
   * {@link InvalidInputError} when the input's ZIP package is damaged or
   * unpacks to more than 1 GiB, when LibreOffice cannot read the input or
   * when the conversion exceeds the job timeout. Rejects with the signal's
   * reason on abort, which stops the listener at once.
   */
  async convert(
    inputPath: string,
    outputPath: string,
    conversion: OfficeConversion,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    const slot = await this.#acquire(signal);
    try {
      const member = await this.#memberOf(slot);
      signal.throwIfAborted();
      await this.#run(
        slot,
        member,
        {
          ...conversion,
          input: inputPath,
          output: outputPath,
        },
        signal,
      );
    } finally {
      this.#release(slot);
    }
  }

  /**
   * Stops every listener, killing those that do not stop within
   * {@link CLOSE_TIMEOUT_MS}, and resolves once all have exited and their
   * profile directories are removed. A later conversion starts new ones.
   */
  async close(): Promise<void> {
    await Promise.allSettled(this.#starting);
    for (const slot of this.#slots) {
      slot.member = undefined;
    }
    const members = [...this.#members];
    await Promise.all(
      members.map(async ([member, cleanedUp]) => {
        await member.stop();
        await cleanedUp;
      }),
    );
  }

  async #run(
    slot: Slot,
    member: Member,
    request: OfficeConversion & { input: string; output: string },
    signal: AbortSignal,
  ): Promise<void> {
    let timedOut = false;
    const killMember = () => this.#discard(slot, member);
    const timer = setTimeout(() => {
      timedOut = true;
      killMember();
    }, this.#jobTimeoutMs);
    signal.addEventListener('abort', killMember, { once: true });

    let result: BridgeResult | Error;
    try {
      result = await member.send(request);
    } catch (error) {
      result = error as Error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', killMember);
    }

    // A member stopped by the abort or the timeout may still send the
    // failed result of the conversion that it lost.
    signal.throwIfAborted();
    if (timedOut) {
      throw new InvalidInputError(
        `LibreOffice did not finish within ${this.#jobTimeoutMs / 1000} s.` +
          ' Check the document for content that never finishes loading.',
        'conversion_timeout',
      );
    }
    if (result instanceof Error) {
      this.#logger?.error({ err: result }, 'LibreOffice exited during a job');
      throw result;
    }

    member.jobs += 1;
    if (!result.ok) {
      this.#failed(slot, member, result);
    }
    if (member.jobs >= this.#maxJobsPerMember) {
      this.#retire(slot, member, 'job count reached');
    }
  }

  #failed(slot: Slot, member: Member, result: BridgeResult): never {
    const message = result.message ?? 'no detail';
    if (result.code === 'damaged_package') {
      // The bridge's package check wrote the whole message, fix included.
      throw new InvalidInputError(message);
    }
    if (result.code === 'resource_limit_exceeded') {
      throw new InvalidInputError(
        `${message} Split the document or remove large embedded parts.`,
        'resource_limit_exceeded',
      );
    }
    if (result.code === 'invalid_input') {
      throw new InvalidInputError(
        `LibreOffice could not read the file (${message}). Check that it ` +
          'is a valid, undamaged document of the stated type.',
      );
    }
    // An export error can mean a broken listener, so start afresh.
    this.#retire(slot, member, 'conversion failed');
    throw new Error(`LibreOffice failed to convert the file: ${message}`);
  }

  async #memberOf(slot: Slot): Promise<Member> {
    if (slot.member === undefined) {
      slot.member = await this.#start();
    }
    const member = slot.member;
    try {
      await member.ready;
    } catch (error) {
      this.#discard(slot, member);
      throw error;
    }
    return member;
  }

  async #start(): Promise<Member> {
    const starting = this.#spawnMember();
    this.#starting.add(starting);
    try {
      return await starting;
    } finally {
      this.#starting.delete(starting);
    }
  }

  async #spawnMember(): Promise<Member> {
    const status = libreOfficeStatus({
      soffice: this.#sofficePath,
      python: this.#pythonPath,
    });
    if (!status.available) {
      throw new Error(status.reason);
    }

    const profileDir = await mkdtemp(
      join(this.#profileParent, 'boringkit-soffice-'),
    );
    pipeCounter += 1;
    const pipeName = `boringkit-${process.pid}-${pipeCounter}`;
    // The bridge exits, stopping soffice and removing the profile, when the
    // process with the pid of the last argument exits, SIGKILL included.
    const child = spawn(
      this.#pythonPath,
      [
        BRIDGE_SCRIPT,
        this.#sofficePath,
        profileDir,
        pipeName,
        String(process.pid),
      ],
      { detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const member = new Member(child, profileDir);
    const startedAt = Date.now();
    const timer = setTimeout(() => member.terminate(), START_TIMEOUT_MS);

    if (this.#members.size === 0) {
      // The members run in process groups of their own, so they would
      // outlive this process without it. A SIGKILL of this process skips
      // 'exit', and each bridge then stops its soffice itself, because it
      // watches this process.
      process.once('exit', this.#terminateAll);
    }
    const cleanedUp = member.exited.then(async () => {
      clearTimeout(timer);
      this.#forget(member);
      await this.#removeProfile(profileDir);
      await this.#removePipeSocket(pipeName);
      this.#members.delete(member);
      if (this.#members.size === 0) {
        process.removeListener('exit', this.#terminateAll);
      }
    });
    this.#members.set(member, cleanedUp);
    void member.ready.then(() => {
      clearTimeout(timer);
      this.#logger?.info(
        { pid: child.pid, startMs: Date.now() - startedAt },
        'LibreOffice listener started',
      );
    });
    return member;
  }

  /**
   * Removes a profile directory after its member exited. The retries cover
   * a soffice, killed with its group, that has not finished dying yet.
   */
  async #removeProfile(profileDir: string): Promise<void> {
    try {
      await rm(profileDir, {
        recursive: true,
        force: true,
        maxRetries: 5,
        retryDelay: 100,
      });
    } catch (error) {
      this.#logger?.error(
        { err: error, profileDir },
        'failed to remove a LibreOffice profile directory',
      );
    }
  }

  /**
   * Removes the socket of a member's listener, which soffice leaves behind
   * when it is killed. The bridge removes it too, unless it was killed.
   */
  async #removePipeSocket(pipeName: string): Promise<void> {
    const path = oslPipePath(pipeName);
    try {
      await rm(path, { force: true });
    } catch (error) {
      this.#logger?.error(
        { err: error, path },
        'failed to remove a LibreOffice pipe socket',
      );
    }
  }

  /** Stops `member` at once. The slot starts a new one when next used. */
  #discard(slot: Slot, member: Member): void {
    if (slot.member === member) {
      slot.member = undefined;
    }
    member.terminate();
  }

  #retire(slot: Slot, member: Member, reason: string): void {
    if (slot.member === member) {
      slot.member = undefined;
    }
    this.#logger?.info({ jobs: member.jobs, reason }, 'LibreOffice retired');
    void member.stop();
  }

  /** Clears a member that exited on its own (a crash, for example). */
  #forget(member: Member): void {
    for (const slot of this.#slots) {
      if (slot.member === member) {
        slot.member = undefined;
        this.#logger?.error(
          { pid: member.child.pid },
          'LibreOffice exited unexpectedly; the next job starts a new one',
        );
      }
    }
  }

  #acquire(signal: AbortSignal): Promise<Slot> {
    const free = this.#slots.find((slot) => !slot.busy);
    if (free !== undefined) {
      free.busy = true;
      return Promise.resolve(free);
    }

    return new Promise((resolve, reject) => {
      const waiter = (slot: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(slot);
      };
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #release(slot: Slot): void {
    const next = this.#waiters.shift();
    if (next === undefined) {
      slot.busy = false;
    } else {
      next(slot);
    }
  }
}
