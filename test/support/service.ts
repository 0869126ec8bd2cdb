import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loggerOptions } from '../../api/logging.ts';
import { loadConfig } from '../../bin/config.ts';
import {
  startService,
  type Role,
  type RunningService,
} from '../../bin/service.ts';

export const KEY_A = 'key-workspace-a-0123456789';
export const KEY_B = 'key-workspace-b-0123456789';

export function baseEnv(dataDir: string): NodeJS.ProcessEnv {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    BORINGKIT_DATA_DIR: dataDir,
    BORINGKIT_API_KEYS: `ws_a:${KEY_A},ws_b:${KEY_B}`,
    BORINGKIT_LEASE_SECONDS: '3',
    BORINGKIT_SUPERVISOR_INTERVAL_MS: '200',
    BORINGKIT_WORKER_CONCURRENCY: '2',
    // The embedded stores, whatever the developer's shell names.
    BORINGKIT_EVENTSTORE_URL: '',
    BORINGKIT_S3_BUCKET: '',
    BORINGKIT_READ_MODEL_PATH: '',
    BORINGKIT_ROLE: '',
  };
}

export interface TestService {
  url: string;
  dataDir: string;
  service: RunningService;
  stop(): Promise<void>;
}

/** Starts the service in this process on a random port and a temp dir. */
export async function startTestService(
  env: NodeJS.ProcessEnv = {},
  roles: Role[] = ['api', 'worker'],
): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-test-'));
  const config = loadConfig({ ...baseEnv(dataDir), ...env });
  const service = await startService(
    config,
    roles,
    pino(loggerOptions(process.env.TEST_LOG_LEVEL ?? 'silent')),
  );
  return {
    url: service.url!,
    dataDir,
    service,
    async stop() {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A service process started with `node --import tsx bin/boringkit.ts`. */
export interface ServiceProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the URL once the API prints it. */
  url: Promise<string>;
  exited: Promise<number | null>;
}

/**
 * Starts the service as a child process. With `processGroup`, it leads a
 * process group of its own, as a shell's foreground job does, so a test can
 * signal the whole group the way a Ctrl-C in the terminal would.
 */
export function spawnService(
  command: 'start' | 'all' | 'serve' | 'work',
  env: NodeJS.ProcessEnv,
  { processGroup = false }: { processGroup?: boolean } = {},
): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/boringkit.ts', command],
    {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: processGroup,
    },
  );
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`service exited with ${code}:\n${output}`)),
    );
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', resolve),
  );
  return { child, output: () => output, url, exited };
}

export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
