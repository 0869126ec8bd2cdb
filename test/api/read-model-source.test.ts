import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bin/config.ts';
import { startService } from '../../bin/service.ts';
import { Client } from '../support/client.ts';
import { baseEnv } from '../support/service.ts';

const logger = pino({ level: 'silent' });
let root: string;

function startApi(dataDir: string, readModelPath?: string) {
  const env = { ...baseEnv(dataDir) };
  if (readModelPath) env.BORINGKIT_READ_MODEL_PATH = readModelPath;
  return startService(loadConfig(env), ['api'], logger);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boringkit-source-log-'));
  // A log with a job, and its read model.
  const first = await startApi(join(root, 'a'));
  const created = await new Client(first.url!).createJob({
    toolSlug: 'html-to-pdf-api',
    input: { kind: 'text', contentType: 'text/html', text: '<p>a</p>' },
  });
  expect(created.status).toBe(201);
  await first.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('read model of another log', () => {
  const foreign = () => join(root, 'a', 'readmodel.sqlite');

  it('is rejected by its first event', async () => {
    await expect(startApi(join(root, 'b'), foreign())).rejects.toThrow(
      `The read model ${foreign()} was built from another event log`,
    );
    expect(existsSync(join(root, 'a', 'readmodel.pid'))).toBe(false);
  });

  it('without a recorded log is rejected by its checkpoint', async () => {
    const db = new Database(foreign());
    db.exec('DELETE FROM source_log');
    db.close();

    await expect(startApi(join(root, 'c'), foreign())).rejects.toThrow(
      'but this log ends at 0',
    );
  });

  it('is accepted on its own log', async () => {
    const again = await startApi(join(root, 'a'));
    await again.close();

    const db = new Database(foreign(), { readonly: true });
    const rows = db.prepare('SELECT first_event_id FROM source_log').all();
    db.close();
    expect(rows).toHaveLength(1);
  });
});
