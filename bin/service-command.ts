import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loggerOptions } from '../api/logging.ts';
import {
  ConfigError,
  loadConfig,
  storeSettings,
  type StoreSettings,
} from './config.ts';
import { replay } from './replay.ts';
import { startService, type Role } from './service.ts';

const ROLES: Record<string, Role[]> = {
  all: ['api', 'worker'],
  serve: ['api'],
  work: ['worker'],
};

/** Returns the roles of `start` that BORINGKIT_ROLE names, `all` by default. */
function rolesFromEnvironment(): Role[] {
  const role = process.env.BORINGKIT_ROLE || 'all';
  const roles = ROLES[role];
  if (!roles) {
    throw new ConfigError(
      `BORINGKIT_ROLE=${role} is invalid: expected all, serve or work.`,
    );
  }
  return roles;
}

/** Runs a service command until SIGINT or SIGTERM and returns its exit code. */
export async function runServiceCommand(
  command: string,
  rest: string[],
): Promise<number> {
  // The data dir contains user files, keys and the log, so it is private.
  process.umask(0o077);

  if (command === 'replay') return replayCommand(rest.includes('--verify'));

  const config = loadConfig();
  const logger = pino(loggerOptions());

  const roles = command === 'start' ? rolesFromEnvironment() : ROLES[command];
  if (!roles) throw new Error(`${command} is not a service command`);

  const service = await startService(config, roles, logger);
  if (service.url) {
    console.log(`BoringKit Jobs is listening on ${service.url}`);
    if (config.generatedDevKey) {
      console.log(
        `Dev API key for workspace ws_dev: ${config.generatedDevKey}`,
      );
      console.log(
        `Try: curl -H "Authorization: Bearer ${config.generatedDevKey}" ${service.url}/v1/tools`,
      );
    }
  }

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await service.close();
  return 0;
}

/**
 * Returns why `dataDir` cannot be replayed, or undefined when it can. The
 * checks come first because opening the event store would create it.
 */
function replayProblem(
  dataDir: string,
  stores: StoreSettings,
  verify: boolean,
): string | undefined {
  const fix = "Set BORINGKIT_DATA_DIR to the service's data directory.";
  if (!existsSync(dataDir)) {
    return `the data directory ${dataDir} does not exist. ${fix}`;
  }
  if (!statSync(dataDir).isDirectory()) {
    return `the data directory ${dataDir} is not a directory. ${fix}`;
  }
  const { eventStore } = stores;
  if (eventStore.kind === 'sqlite' && !existsSync(eventStore.path)) {
    return `there is no event log at ${eventStore.path}, so there is nothing to replay. ${fix}`;
  }
  const readModel = stores.readModelPath;
  if (verify && !existsSync(readModel)) {
    return (
      `there is no live read model at ${readModel}, so there is nothing ` +
      'to verify. The API builds it when it starts.'
    );
  }
  return undefined;
}

/**
 * Runs `replay [--verify]`. It reads only the data dir and the store
 * settings, because loadConfig creates the data dir and keys in it, and a
 * replay must not write to a directory that it checks.
 */
function replayCommand(verify: boolean): Promise<number> {
  const dataDir = resolve(process.env.BORINGKIT_DATA_DIR || './data');
  const stores = storeSettings(process.env, dataDir);
  const problem = replayProblem(dataDir, stores, verify);
  if (problem !== undefined) {
    console.error(`replay: ${problem}`);
    return Promise.resolve(2);
  }
  return replay(stores, verify).catch((error: unknown) => {
    const { message } = error as Error;
    const source = message.startsWith('EventStoreDB')
      ? 'the event store at BORINGKIT_EVENTSTORE_URL failed: '
      : '';
    console.error(`replay: ${source}${message}`);
    return 1;
  });
}
