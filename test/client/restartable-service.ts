import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseEnv,
  spawnService,
  type ServiceProcess,
} from '../support/service.ts';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

/**
 * A service in a child process on a fixed port and data dir, so a test can
 * kill it and start it again where clients expect it.
 */
export class RestartableService {
  private current: ServiceProcess | undefined;

  private constructor(
    readonly url: string,
    readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(): Promise<RestartableService> {
    const dataDir = await mkdtemp(join(tmpdir(), 'boringkit-restart-'));
    const port = await freePort();
    const env = { ...baseEnv(dataDir), PORT: String(port) };
    return new RestartableService(`http://127.0.0.1:${port}`, dataDir, env);
  }

  /** Starts `serve` (API only) or `all`, and resolves once it listens. */
  async start(command: 'serve' | 'all'): Promise<void> {
    this.current = spawnService(command, this.env);
    await this.current.url;
  }

  /** Kills the process with SIGKILL, as a crash would end it. */
  async kill(): Promise<void> {
    const running = this.current;
    if (!running || running.child.exitCode !== null) return;
    running.child.kill('SIGKILL');
    await running.exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
