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

  const config = loadConfig();
  const logger = pino(loggerOptions());

  if (command === 'replay') return replay(config, rest.includes('--verify'));

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
