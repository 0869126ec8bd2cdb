import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BoringKitClient, DEFAULT_URL } from '../../client/index.ts';
import { UsageError } from './exit-codes.ts';
import { JsonProgress } from './json-progress.ts';
import { TextProgress, type Progress } from './progress.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every client command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  'allow-http': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export interface CommandContext {
  client: BoringKitClient;
  json: boolean;
  /** Writes to stdout. */
  print(text: string): void;
  /** Makes a progress reporter: JSON lines with --json, text otherwise. */
  progress(): Progress;
}

/** Parses a command's arguments, turning parser errors into usage errors. */
export function parseCommandArgs<T extends Options>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '[::1]']);

/** Returns whether the URL's host is localhost, 127.0.0.0/8 or ::1. */
function isLoopback(url: URL): boolean {
  return (
    LOOPBACK_NAMES.has(url.hostname) ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname)
  );
}

/**
 * Finds the API key: --key, then BORINGKIT_API_KEY, then the development
 * key that `npm start` keeps in the data dir. The development key is read
 * only for a loopback URL, so it is never sent to another host.
 */
function findApiKey(flag: string | undefined, url: URL): string {
  const key = flag ?? process.env.BORINGKIT_API_KEY;
  if (key) return key;

  const dataDir = resolve(process.env.BORINGKIT_DATA_DIR || './data');
  const devKeyFile = join(dataDir, 'dev-api-key');
  const devKeyExists = existsSync(devKeyFile);
  if (devKeyExists && isLoopback(url)) {
    return readFileSync(devKeyFile, 'utf8').trim();
  }
  const missing =
    'The API key is missing. Pass --key or set BORINGKIT_API_KEY.';
  if (devKeyExists) {
    throw new UsageError(
      `${missing} The development key in ${devKeyFile} is used only for ` +
        'a service on this machine (localhost, 127.0.0.1 or [::1]), and ' +
        `${url.origin} is not one.`,
    );
  }
  throw new UsageError(
    `${missing} For a service on this machine, the development key is ` +
      `read from ${devKeyFile}, which does not exist.`,
  );
}

/**
 * Rejects a URL that would send the API key unencrypted to another host,
 * before any connection is made.
 */
function checkTransport(url: URL, source: string, allowHttp: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `${source} ${url} is not an http or https URL. Pass an origin such ` +
        `as ${DEFAULT_URL}.`,
    );
  }
  if (url.protocol === 'https:' || isLoopback(url) || allowHttp) return;
  throw new UsageError(
    `${url.origin} is plain HTTP on another host, so the API key would ` +
      'cross the network unencrypted. Use https://, or pass --allow-http ' +
      'to send it anyway.',
  );
}

export function createContext(values: {
  url?: string;
  key?: string;
  'allow-http'?: boolean;
  json?: boolean;
}): CommandContext {
  const source = values.url === undefined ? 'BORINGKIT_API_URL' : '--url';
  const rawUrl = values.url ?? process.env.BORINGKIT_API_URL ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(
      `${source} "${rawUrl}" is not a URL. Pass an origin such as ${DEFAULT_URL}.`,
    );
  }
  const apiKey = findApiKey(values.key, url);
  checkTransport(url, source, values['allow-http'] ?? false);

  const json = values.json ?? false;
  return {
    client: new BoringKitClient({ url: url.toString(), apiKey }),
    json,
    print: (text) => process.stdout.write(`${text}\n`),
    progress: () => (json ? new JsonProgress() : new TextProgress()),
  };
}
