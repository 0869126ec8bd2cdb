import { pino } from 'pino';
import { loggerOptions } from '../api/logging.ts';
import { ConfigError, loadConfig } from './config.ts';
import { replay } from './replay.ts';
import { startService, type Role } from './service.ts';

const USAGE = `Usage: boringkit <command>

Commands:
  all              run the API and a worker in one process
  serve            run the API only
  work             run a worker only
  replay           rebuild the read model from the log (stop the API first)
  replay --verify  rebuild into a scratch copy and list every difference
                   with the live read model; exits 1 when there is one`;

const ROLES: Record<string, Role[]> = {
  all: ['api', 'worker'],
  serve: ['api'],
  work: ['worker'],
};

async function main(argv: string[]): Promise<number> {
  // The data dir contains user files, keys and the log, so it is private.
  process.umask(0o077);

  const [command, ...rest] = argv;
  const config = loadConfig();
  const logger = pino(loggerOptions());

  if (command === 'replay') return replay(config, rest.includes('--verify'));

  const roles = command ? ROLES[command] : undefined;
  if (!roles) {
    console.error(USAGE);
    return command === undefined || command === '--help' ? 0 : 2;
  }

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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  },
);
