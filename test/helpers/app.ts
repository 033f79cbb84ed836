import { Writable } from 'node:stream';
import { runOnce } from 'graphile-worker';
import pino from 'pino';
import type { Test } from 'tap';
import { loadConfig, type Config } from '../../src/config.js';
import { buildServer, loggerOptions } from '../../src/http/server.js';
import type { App } from '../../src/http/types.js';
import { createTaskList } from '../../src/jobs/tasks.js';
import { workerLogger } from '../../src/jobs/worker.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabase } from './database.js';
import { startSmtpSink, type BeforeAccept, type SmtpSink } from './smtp.js';

/** Limits high enough that only the rate-limit tests meet them, and no session cache (see below). */
const TEST_ENV = {
  LOG_LEVEL: 'silent',
  APP_BASE_URL: 'http://app.test',
  RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '100000',
  RATE_LIMIT_SIGNINS_PER_MINUTE: '100000',
  RATE_LIMIT_CONFIRMS_PER_MINUTE: '100000',
  ONBOARDING_SAVES_PER_MINUTE: '100000',
  RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE: '100000',
  RATE_LIMIT_SIGNUP_CODES_PER_MINUTE: '100000',
  SIGNUP_SAVES_PER_MINUTE: '100000',
  RATE_LIMIT_SIGNINS_PER_IP_PER_MINUTE: '100000',
  SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '100000',
  RATE_LIMIT_RESENDS_PER_MINUTE: '100000',
  ADMIN_TOKEN: 'test-admin-token-0123456789abcdef0123',
  TOKEN_SECRET: 'test-token-secret-0123456789abcdef0123456789',
  // Tests edit sessions in SQL and expect the next request to see it; the cache has its own tests.
  SESSION_CACHE_SECONDS: '0',
};

/** One instance of the service on a test database, as tests drive it. */
export interface TestService {
  app: App;
  config: Config;
  runtime: Runtime;
  /** Runs every job that is due now, like the worker would, then returns. */
  runJobs(): Promise<void>;
}

/** A fresh database and SMTP server with one service instance over them. */
export interface TestContext extends TestService {
  databaseUrl: string;
  smtp: SmtpSink;
  /** Another instance of the service on the same database: the two-instances case. */
  secondInstance(): Promise<TestService>;
  /** Everything the service logged, as text (only when `captureLogs` was asked for). */
  logs(): string;
}

/** `env` overrides the test environment; as a function it gets the test database's URL (to route it through a pooler). */
export async function testContext(
  t: Test,
  options: { env?: Record<string, string> | ((databaseUrl: string) => Record<string, string>); captureLogs?: boolean; beforeAccept?: BeforeAccept } = {},
): Promise<TestContext> {
  const databaseUrl = await createTestDatabase(t);
  const smtp = await startSmtpSink(t, { beforeAccept: options.beforeAccept });
  const env = typeof options.env === 'function' ? options.env(databaseUrl) : options.env;
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl, SMTP_URL: smtp.url, ...env });
  let captured = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      captured += chunk.toString();
      done();
    },
  });
  const logger = options.captureLogs ? pino({ ...loggerOptions('trace') }, sink) : pino({ level: 'silent' });

  async function instance(): Promise<TestService> {
    const runtime = await createRuntime(config, logger);
    const app = await buildServer({ config, services: runtime.services, logger, metrics: runtime.metrics });
    t.teardown(async () => {
      await app.close();
      await runtime.close();
    });
    const taskList = createTaskList(runtime.services);
    return {
      app,
      config,
      runtime,
      runJobs: () => runOnce({ pgPool: runtime.directPool, taskList, logger: workerLogger(logger), events: runtime.metrics.jobEvents }),
    };
  }

  const first = await instance();
  return { ...first, databaseUrl, smtp, secondInstance: instance, logs: () => captured };
}
