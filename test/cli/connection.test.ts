import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.ts';

// A documentation address (RFC 5737 TEST-NET-1), which no real host uses.
// The guard below stops every TCP connection of the command, so no test
// here sends a packet to it, whatever the command does.
const REMOTE_HTTP = 'http://192.0.2.1:8080';
const REMOTE_HTTPS = 'https://192.0.2.1';
const BLOCKED = 'connection blocked by the test guard';

// Local sockets (a path, such as the pipe tsx connects to) pass the guard.
const GUARD = `import net from 'node:net';
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const target = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof target === 'string' || target?.path) {
    return connect.apply(this, args);
  }
  process.stderr.write('${BLOCKED}\\n');
  throw new Error('${BLOCKED}');
};
`;

let workDir: string;
let guardOption: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'boringkit-cli-connection-'));
  const guard = join(workDir, 'guard.mjs');
  await writeFile(guard, GUARD);
  guardOption = `--import=${pathToFileURL(guard).href}`;
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, {
    cwd: workDir,
    env: {
      NODE_OPTIONS: guardOption,
      BORINGKIT_DATA_DIR: join(workDir, 'data'),
      ...env,
    },
  });
}

describe('API key over plain HTTP', () => {
  it('is rejected for another host', async () => {
    const { code, stderr } = await cli(['tools', '--url', REMOTE_HTTP], {
      BORINGKIT_API_KEY: 'key-0123456789abcdef',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--allow-http');
    expect(stderr).toContain(REMOTE_HTTP);
    expect(stderr).not.toContain(BLOCKED);
  });

  it('is rejected from BORINGKIT_API_URL', async () => {
    const { code, stderr } = await cli(['credits'], {
      BORINGKIT_API_URL: REMOTE_HTTP,
      BORINGKIT_API_KEY: 'key-0123456789abcdef',
    });
    expect(code).toBe(2);
    expect(stderr).not.toContain(BLOCKED);
  });

  it('is sent with --allow-http', async () => {
    const { code, stderr } = await cli(
      ['tools', '--url', REMOTE_HTTP, '--allow-http'],
      { BORINGKIT_API_KEY: 'key-0123456789abcdef' },
    );
    expect(stderr).toContain(BLOCKED);
    expect(code).toBe(5);
  });
});

describe('missing API key', () => {
  it('explains a skipped development key', async () => {
    const dataDir = join(workDir, 'with-dev-key');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'dev-api-key'), 'bk_dev_0123456789\n');

    const { code, stderr } = await cli(['tools', '--url', REMOTE_HTTPS], {
      BORINGKIT_DATA_DIR: dataDir,
    });
    expect(code).toBe(2);
    expect(stderr).toContain(join(dataDir, 'dev-api-key'));
    expect(stderr).toContain('only for a service on this machine');
    expect(stderr).not.toContain(BLOCKED);
  });

  it('names the absent development key', async () => {
    const { code, stderr } = await cli(['tools']);
    expect(code).toBe(2);
    expect(stderr).toContain(join(workDir, 'data', 'dev-api-key'));
    expect(stderr).toContain('does not exist');
  });
});
