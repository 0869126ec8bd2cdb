import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** The event log's store and its settings. */
export type EventStoreSettings =
  | { kind: 'sqlite'; path: string }
  | { kind: 'eventstoredb'; connectionString: string; deadlineMs: number };

/** The blob storage of inputs and outputs and its settings. */
export type StorageSettings =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      /** An S3-compatible server; AWS's regional endpoint when missing. */
      endpoint: string | undefined;
      /** Prepended to every key with a /, so deployments can share a bucket. */
      keyPrefix: string;
      /** Directory that uploads to S3 are spooled to first. */
      spoolDirectory: string;
      /** From AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; else the SDK's chain. */
      credentials:
        | {
            accessKeyId: string;
            secretAccessKey: string;
            sessionToken?: string;
          }
        | undefined;
    };

/** The stores a process opens, read from the environment alone. */
export interface StoreSettings {
  eventStore: EventStoreSettings;
  storage: StorageSettings;
  /** This API process's read model; each API process needs its own. */
  readModelPath: string;
}

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
  /** How long a stopping worker lets its attempts finish, in seconds. */
  shutdownGraceSeconds: number;
  stores: StoreSettings;
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
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(
        `${path} cannot be created ` +
          `(${(error as NodeJS.ErrnoException).code ?? 'error'}). Make ` +
          'BORINGKIT_DATA_DIR writable for this user.',
        { cause: error },
      );
    }
    return readFileSync(path, 'utf8').trim();
  }
}

function url(env: NodeJS.ProcessEnv, name: string, schemes: string[]): string {
  const raw = env[name] ?? '';
  let parsed: URL | undefined;
  try {
    parsed = new URL(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !schemes.includes(parsed.protocol) || parsed.host === '') {
    throw new ConfigError(
      `${name}=${raw} is invalid: expected a URL with a host, starting with ` +
        `${schemes.map((scheme) => `${scheme}//`).join(' or ')}.`,
    );
  }
  return raw;
}

/**
 * Reads which event store, blob storage and read model to open. It has no
 * side effects, so `replay` can use it on a data dir it only checks.
 */
export function storeSettings(
  env: NodeJS.ProcessEnv,
  dataDir: string,
): StoreSettings {
  const eventStore: EventStoreSettings = env.BORINGKIT_EVENTSTORE_URL
    ? {
        kind: 'eventstoredb',
        connectionString: url(env, 'BORINGKIT_EVENTSTORE_URL', [
          'esdb:',
          'esdb+discover:',
        ]),
        deadlineMs: integer(
          env,
          'BORINGKIT_EVENTSTORE_DEADLINE_MS',
          10_000,
          100,
          600_000,
        ),
      }
    : { kind: 'sqlite', path: join(dataDir, 'events.sqlite') };

  let storage: StorageSettings = {
    kind: 'local',
    root: join(dataDir, 'blobs'),
  };
  if (env.BORINGKIT_S3_BUCKET) {
    const keyPrefix = env.BORINGKIT_S3_KEY_PREFIX ?? '';
    const segments = keyPrefix.split('/');
    const validPrefix =
      /^[\w.-]+(\/[\w.-]+)*$/.test(keyPrefix) &&
      !segments.includes('.') &&
      !segments.includes('..');
    if (keyPrefix !== '' && !validPrefix) {
      throw new ConfigError(
        `BORINGKIT_S3_KEY_PREFIX=${keyPrefix} is invalid: use segments of ` +
          'letters, digits, _, . or - joined by /, other than . and .., ' +
          'such as boringkit/prod.',
      );
    }
    storage = {
      kind: 's3',
      bucket: env.BORINGKIT_S3_BUCKET,
      region: env.BORINGKIT_S3_REGION || env.AWS_REGION || 'us-east-1',
      endpoint: env.BORINGKIT_S3_ENDPOINT
        ? url(env, 'BORINGKIT_S3_ENDPOINT', ['http:', 'https:'])
        : undefined,
      keyPrefix,
      spoolDirectory: join(dataDir, 'tmp'),
      credentials:
        env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              sessionToken: env.AWS_SESSION_TOKEN || undefined,
            }
          : undefined,
    };
  }

  return {
    eventStore,
    storage,
    readModelPath: readModelPath(env, dataDir, eventStore),
  };
}

/**
 * Resolves the read model's file. It must be a file of its own, because
 * `replay` replaces it, and a replay that replaced the event log would lose
 * every event.
 */
function readModelPath(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  eventStore: EventStoreSettings,
): string {
  const raw = env.BORINGKIT_READ_MODEL_PATH;
  if (!raw) return join(dataDir, 'readmodel.sqlite');
  const path = resolve(raw);
  const fix =
    'Name a file of its own, such as /var/lib/boringkit/readmodel.sqlite.';
  if (raw.endsWith('/') || (existsSync(path) && statSync(path).isDirectory())) {
    throw new ConfigError(
      `BORINGKIT_READ_MODEL_PATH=${raw} is a directory. ${fix}`,
    );
  }
  if (eventStore.kind === 'sqlite' && isLogFile(path, eventStore.path)) {
    throw new ConfigError(
      `BORINGKIT_READ_MODEL_PATH=${raw} is the event log's file. ${fix}`,
    );
  }
  return path;
}

/**
 * Tells whether `path` names the SQLite log at `logPath` or one of its
 * journal files, through symbolic links, hard links or another spelling.
 */
function isLogFile(path: string, logPath: string): boolean {
  const suffixes = ['', '-wal', '-shm', '-journal'];
  const target = realLocation(path);
  if (suffixes.some((suffix) => target === realLocation(logPath + suffix))) {
    return true;
  }
  return suffixes.some((suffix) => sameFile(path, logPath + suffix));
}

/** Resolves the symbolic links in the path's directory. */
function realLocation(path: string): string {
  const resolved = resolve(path);
  try {
    return join(realpathSync(dirname(resolved)), basename(resolved));
  } catch {
    return resolved;
  }
}

/** Tells whether two existing paths reach the same file. */
function sameFile(a: string, b: string): boolean {
  try {
    const first = statSync(a);
    const second = statSync(b);
    return first.dev === second.dev && first.ino === second.ino;
  } catch {
    return false;
  }
}

/** Builds the configuration from environment variables. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65_535);
  const host = env.HOST || '127.0.0.1';
  const dataDir = resolve(env.BORINGKIT_DATA_DIR || './data');
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `BORINGKIT_DATA_DIR=${dataDir} cannot be used as the data directory ` +
        `(${(error as NodeJS.ErrnoException).code ?? 'error'}). Name a ` +
        'directory that this user can create or write to.',
      { cause: error },
    );
  }

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
    shutdownGraceSeconds: integer(
      env,
      'BORINGKIT_SHUTDOWN_GRACE_SECONDS',
      10,
      0,
      3_600,
    ),
    stores: storeSettings(env, dataDir),
  };
}
