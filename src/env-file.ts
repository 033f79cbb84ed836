import { existsSync } from 'node:fs';
import dotenv from 'dotenv';
import { ConfigError } from './config.js';

/**
 * Reads `.env` (or the file ENV_FILE names) into `env` when it exists. Variables already set in the
 * real environment win over the file, so a deployment can override any line of it.
 * Returns the file read, or undefined when there was none.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.ENV_FILE?.trim() || '.env';
  if (!existsSync(file)) {
    if (env.ENV_FILE?.trim()) throw new ConfigError([`ENV_FILE names ${file}, which does not exist.`]);
    return undefined;
  }
  const result = dotenv.config({ path: file, processEnv: env as Record<string, string>, override: false, quiet: true });
  if (result.error) throw new ConfigError([`${file} could not be read: ${result.error.message}`]);
  return file;
}
