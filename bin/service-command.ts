import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { loggerOptions } from '../api/logging.ts';
import { loadConfig } from './config.ts';
import { replay } from './replay.ts';
import { startService, type Role } from './service.ts';

const ROLES: Record<string, Role[]> = {
  all: ['api', 'worker'],
  serve: ['api'],
  work: ['worker'],
};

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

  const roles = ROLES[command];
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
function replayProblem(dataDir: string, verify: boolean): string | undefined {
  const fix = "Set BORINGKIT_DATA_DIR to the service's data directory.";
  if (!existsSync(dataDir)) {
    return `the data directory ${dataDir} does not exist. ${fix}`;
  }
  if (!statSync(dataDir).isDirectory()) {
    return `the data directory ${dataDir} is not a directory. ${fix}`;
  }
  const log = join(dataDir, 'events.sqlite');
  if (!existsSync(log)) {
    return `there is no event log at ${log}, so there is nothing to replay. ${fix}`;
  }
  const readModel = join(dataDir, 'readmodel.sqlite');
  if (verify && !existsSync(readModel)) {
    return (
      `there is no live read model at ${readModel}, so there is nothing ` +
      'to verify. The API builds it when it starts.'
    );
  }
  return undefined;
}

/**
 * Runs `replay [--verify]`. It reads only BORINGKIT_DATA_DIR, with the
 * service's default, because loadConfig creates the data dir and keys in
 * it, and a replay must not write to a directory that it checks.
 */
function replayCommand(verify: boolean): Promise<number> {
  const dataDir = resolve(process.env.BORINGKIT_DATA_DIR || './data');
  const problem = replayProblem(dataDir, verify);
  if (problem !== undefined) {
    console.error(`replay: ${problem}`);
    return Promise.resolve(2);
  }
  return replay({ dataDir }, verify);
}
