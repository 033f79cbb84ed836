import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadEnvFile } from '../../src/env-file.js';

t.test('.env fills unset variables; variables of the real environment win', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.env');
  await writeFile(file, ['# a comment', 'PORT=4123', 'TRIAL_DAYS=21', 'MAIL_FROM="Acme <hello@acme.test>"', 'LOG_LEVEL=debug', ''].join('\n'));
  const env: NodeJS.ProcessEnv = { ENV_FILE: file, TRIAL_DAYS: '30', LOG_LEVEL: '' };
  t.equal(loadEnvFile(env), file);
  t.equal(env.PORT, '4123', 'read from the file');
  t.equal(env.MAIL_FROM, 'Acme <hello@acme.test>', 'quotes removed');
  t.equal(env.TRIAL_DAYS, '30', 'the real environment wins');
  t.equal(env.LOG_LEVEL, '', 'even when set to empty');
  const config = loadConfig(env);
  t.equal(config.port, 4123);
  t.equal(config.trialDays, 30);
});

t.test('no .env is fine; an ENV_FILE that does not exist is a configuration error', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const env: NodeJS.ProcessEnv = { PORT: '1' };
  t.equal(loadEnvFile(env), undefined);
  t.same(env, { PORT: '1' });
  t.throws(() => loadEnvFile({ ENV_FILE: path.join(dir, 'missing.env') }), ConfigError);
});

t.test('.env in the working directory is read by default', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, '.env'), 'HOST=0.0.0.0\n');
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const env: NodeJS.ProcessEnv = {};
  t.equal(loadEnvFile(env), '.env');
  t.equal(env.HOST, '0.0.0.0');
});
