import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Origin used in signed URLs. */
  publicUrl: string;
  publicUrlConfigured: boolean;
  /** API keys with their workspaces; `generatedDevKey` when made here. */
  apiKeys: { workspaceId: string; key: string }[];
  generatedDevKey: string | undefined;
  startingCredits: number;
  signingSecret: string;
  workerConcurrency: number;
  leaseSeconds: number;
  uploadIntentSeconds: number;
  downloadIntentSeconds: number;
  supervisorIntervalMs: number;
  /** Caps every tool's retention of inputs and outputs, in seconds. */
  maxRetentionSeconds: number | undefined;
}

/** The workspace of the generated development key. */
export const DEV_WORKSPACE_ID = 'ws_dev';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name}=${raw} is invalid: expected a whole number from ${min} to ${max}.`,
    );
  }
  return value;
}

function parseApiKeys(raw: string): { workspaceId: string; key: string }[] {
  return raw
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const separator = pair.indexOf(':');
      const workspaceId = pair.slice(0, separator);
      const key = pair.slice(separator + 1);
      if (separator < 1 || key.length < 16 || !/^[\w-]+$/.test(workspaceId)) {
        throw new ConfigError(
          'BORINGKIT_API_KEYS must be comma-separated workspaceId:key pairs ' +
            'with workspace ids of letters, digits, _ or - and keys of at ' +
            `least 16 characters; the pair starting "${pair.slice(0, 12)}" is not.`,
        );
      }
      return { workspaceId, key };
    });
}

/** Reads a secret kept in the data dir, creating it on first use. */
function persistentSecret(path: string, prefix: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = prefix + randomBytes(24).toString('base64url');
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process of this service created it first.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(path, 'utf8').trim();
  }
}

/** Builds the configuration from environment variables. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65_535);
  const host = env.HOST || '127.0.0.1';
  const dataDir = resolve(env.BORINGKIT_DATA_DIR || './data');
  mkdirSync(dataDir, { recursive: true });

  let apiKeys: Config['apiKeys'];
  let generatedDevKey: string | undefined;
  if (env.BORINGKIT_API_KEYS) {
    apiKeys = parseApiKeys(env.BORINGKIT_API_KEYS);
  } else {
    generatedDevKey = persistentSecret(join(dataDir, 'dev-api-key'), 'bk_dev_');
    apiKeys = [{ workspaceId: DEV_WORKSPACE_ID, key: generatedDevKey }];
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    host,
    dataDir,
    publicUrl: env.BORINGKIT_PUBLIC_URL || `http://${urlHost}:${port}`,
    publicUrlConfigured: Boolean(env.BORINGKIT_PUBLIC_URL),
    apiKeys,
    generatedDevKey,
    startingCredits: integer(env, 'BORINGKIT_STARTING_CREDITS', 100, 0, 1e9),
    signingSecret:
      env.BORINGKIT_SIGNING_SECRET ||
      persistentSecret(join(dataDir, 'signing-secret'), ''),
    workerConcurrency: integer(
      env,
      'BORINGKIT_WORKER_CONCURRENCY',
      availableParallelism(),
      1,
      64,
    ),
    leaseSeconds: integer(env, 'BORINGKIT_LEASE_SECONDS', 30, 1, 3_600),
    uploadIntentSeconds: integer(
      env,
      'BORINGKIT_UPLOAD_INTENT_SECONDS',
      900,
      1,
      86_400,
    ),
    downloadIntentSeconds: integer(
      env,
      'BORINGKIT_DOWNLOAD_INTENT_SECONDS',
      300,
      1,
      86_400,
    ),
    supervisorIntervalMs: integer(
      env,
      'BORINGKIT_SUPERVISOR_INTERVAL_MS',
      1_000,
      50,
      60_000,
    ),
    maxRetentionSeconds: env.BORINGKIT_RETENTION_SECONDS
      ? integer(env, 'BORINGKIT_RETENTION_SECONDS', 0, 1, 365 * 86_400)
      : undefined,
  };
}
