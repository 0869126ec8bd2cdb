import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BoringKitClient, DEFAULT_URL } from '../../client/index.ts';
import { UsageError } from './exit-codes.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every client command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export interface CommandContext {
  client: BoringKitClient;
  json: boolean;
  /** Writes to stdout. */
  print(text: string): void;
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

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
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
  if (isLoopback(url) && existsSync(devKeyFile)) {
    return readFileSync(devKeyFile, 'utf8').trim();
  }
  throw new UsageError(
    'The API key is missing. Pass --key or set BORINGKIT_API_KEY. For a ' +
      `service on this machine, ${devKeyFile} is read when it exists.`,
  );
}

export function createContext(values: {
  url?: string;
  key?: string;
  json?: boolean;
}): CommandContext {
  const rawUrl = values.url ?? process.env.BORINGKIT_API_URL ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(
      `--url "${rawUrl}" is not a URL. Pass an origin such as ${DEFAULT_URL}.`,
    );
  }
  const client = new BoringKitClient({
    url: url.toString(),
    apiKey: findApiKey(values.key, url),
  });
  return {
    client,
    json: values.json ?? false,
    print: (text) => process.stdout.write(`${text}\n`),
  };
}
