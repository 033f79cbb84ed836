import type pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { loadEnvFile } from './env-file.js';

/** Reads `.env` and the configuration, or exits with a message naming every problem. */
export function configOrExit(): Config {
  try {
    loadEnvFile();
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Stops everything once, on the first SIGTERM or SIGINT. */
export function onShutdown(log: pino.Logger, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: draining requests and jobs');
      stop().then(
        () => {
          log.info({ signal }, 'stopped');
          process.exit(0);
        },
        (error) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
