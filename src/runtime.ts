import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { Config } from './config.js';
import { createDb, createPool, warmPool, type Db } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { listen } from './db/listener.js';
import { migrate } from './db/migrator.js';
import { STATUS_CHANNEL } from './repositories/onboarding-repository.js';
import { SESSION_ENDED_CHANNEL } from './repositories/session-repository.js';
import { createDevMailbox, createSmtpMailer, type Mailer } from './mail/mailer.js';
import { countedMailer } from './mail/counted-mailer.js';
import { Metrics } from './metrics/metrics.js';
import { QueueStatsRepository } from './repositories/queue-stats-repository.js';
import { createServices, type Services } from './services/index.js';
import { StatusCache } from './services/status-cache.js';
import { TokenDeriver } from './services/token-deriver.js';
import { resolveTokenSecret } from './token-secret.js';
import { GatewayEventRepository } from './repositories/billing/gateway-event-repository.js';
import { LocalGatewayRepository } from './repositories/billing/local-gateway-repository.js';
import { LocalGateway } from './services/billing/adapters/local-gateway.js';
import { createStripeClient, parseStripeWebhook, StripeGateway } from './services/billing/adapters/stripe-gateway.js';
import type { BillingPorts } from './services/index.js';

/** Connections opened at start and kept open: what a few concurrent requests and the worker's jobs use at once. */
const WARM_CONNECTIONS = 8;

/** Everything below the HTTP server and the worker: database, mail, services. */
export interface Runtime {
  /** Request traffic, through DATABASE_URL (which may be a transaction pooler). */
  pool: pg.Pool;
  /**
   * Straight to PostgreSQL (DIRECT_DATABASE_URL; the same pool as `pool` when unset): for what
   * needs a session, the job worker above all (LISTEN, its own prepared statements).
   */
  directPool: pg.Pool;
  /** This process's Prometheus metrics. */
  metrics: Metrics;
  db: Db;
  mailer: Mailer;
  services: Services;
  close(): Promise<void>;
}

/**
 * The composition root's lower half: connects (starting the embedded PostgreSQL when DATABASE_URL
 * is unset), migrates, chooses SMTP or the dev mailbox, and wires the services.
 */
export async function createRuntime(config: Config, log: FastifyBaseLogger): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), database: 'onboarding', ownProcessGroup: true });
    databaseUrl = embedded.url;
    log.info({ dataDir: path.join(config.dataDir, 'postgres') }, 'embedded PostgreSQL started (DATABASE_URL is unset)');
  }
  // Migrations (an advisory lock), LISTEN and the worker need a session: never a transaction pooler.
  const directUrl = config.directDatabaseUrl ?? databaseUrl;
  const pooled = config.directDatabaseUrl !== undefined;
  const applied = await migrateWithoutTimeout(directUrl);
  // PgBouncer refuses a statement_timeout startup parameter: behind it, the timeout is the server's (see README).
  const pool = createPool(databaseUrl, 20, pooled ? 0 : config.databaseStatementTimeoutMs);
  const directPool = pooled ? createPool(directUrl, config.workerConcurrency + 5, config.databaseStatementTimeoutMs) : pool;
  await warmPool(pool, WARM_CONNECTIONS);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  if (pooled) await warnWithoutServerTimeout(pool, config.databaseStatementTimeoutMs, log);
  const db = createDb(pool, { preparedStatements: config.databasePreparedStatements });
  const metrics = new Metrics();
  metrics.trackPool('main', pool);
  if (pooled) metrics.trackPool('direct', directPool);
  const mailer = countedMailer(
    config.smtpUrl ? createSmtpMailer(config.smtpUrl, config.mailFrom, { log }) : createDevMailbox(path.join(config.dataDir, 'mail'), config.mailFrom, log, { logLinks: config.nodeEnv !== 'production' }),
    metrics,
  );
  if (!config.smtpUrl && config.nodeEnv === 'production') log.warn({ dir: path.join(config.dataDir, 'mail') }, 'SMTP_URL is unset: no email is sent, messages are only saved as .eml files (their links are not logged in production)');
  else if (!config.smtpUrl) log.info({ dir: path.join(config.dataDir, 'mail') }, 'dev mailbox: mail is saved as .eml files (SMTP_URL is unset)');
  const statusCache = new StatusCache(config.onboardingStatusCacheSeconds);
  const tokens = new TokenDeriver(await resolveTokenSecret(config.tokenSecret, config.dataDir));
  const services = createServices({ db, pool, config, mailer, statusCache, tokens, billing: { ...billingPorts(config, db), sessionPool: directPool } });
  const queueStats = new QueueStatsRepository(db);
  metrics.trackQueue(async () => ({ byTask: await queueStats.snapshot(), liveWorkers: await services.workers.countLive() }));
  log.info({ gateway: services.billing.gatewayName }, services.billing.gatewayName === 'stripe' ? 'payment gateway: Stripe' : 'payment gateway: local (STRIPE_SECRET_KEY is unset)');
  // One connection hears what other instances changed, so in-process caches never outlive it.
  const listener = listen(
    directUrl,
    {
      [STATUS_CHANNEL]: (payload) => statusCache.applyNotification(payload),
      [SESSION_ENDED_CHANNEL]: (tokenHashHex) => services.sessions.forget(tokenHashHex),
    },
    () => {
      statusCache.clear();
      services.sessions.forgetAll();
    },
  );
  return {
    pool,
    directPool,
    metrics,
    db,
    mailer,
    services,
    async close() {
      await listener.close();
      mailer.close();
      await pool.end();
      if (directPool !== pool) await directPool.end();
      await embedded?.stop();
    },
  };
}

/** Stripe when STRIPE_SECRET_KEY is set, else the local gateway in PostgreSQL. */
function billingPorts(config: Config, db: Db): Omit<BillingPorts, 'sessionPool'> {
  const { stripeSecretKey, stripeWebhookSecret, stripeApiBase, gatewayTimeoutMs } = config.billing;
  if (!stripeSecretKey) return { gateway: new LocalGateway(db, new LocalGatewayRepository(db), new GatewayEventRepository(db)) };
  const stripe = createStripeClient(stripeSecretKey, { apiBase: stripeApiBase, timeoutMs: gatewayTimeoutMs });
  return {
    gateway: new StripeGateway(stripe),
    ...(stripeWebhookSecret ? { verifyStripeWebhook: (rawBody: Buffer, signature: string) => parseStripeWebhook(stripe, rawBody, signature, stripeWebhookSecret) } : {}),
  };
}

/** Migrations may wait for another instance's migrations or rewrite a large table: no statement timeout. */
async function migrateWithoutTimeout(databaseUrl: string): Promise<string[]> {
  const pool = createPool(databaseUrl, 2);
  try {
    return await migrate(pool);
  } finally {
    await pool.end();
  }
}

/**
 * Behind a transaction pooler the statement timeout cannot travel as a connection parameter
 * (PgBouncer refuses it), so it must be the server's own setting: say so when it is missing.
 */
async function warnWithoutServerTimeout(pool: pg.Pool, wantedMs: number, log: FastifyBaseLogger): Promise<void> {
  if (wantedMs === 0) return;
  const { rows } = await pool.query<{ timeout: string }>("select current_setting('statement_timeout') as timeout");
  if (rows[0]?.timeout === '0') {
    log.warn(
      { databaseStatementTimeoutMs: wantedMs },
      'DATABASE_URL is a pooler (DIRECT_DATABASE_URL is set) and the server has no statement_timeout: set it on the role (ALTER ROLE ... SET statement_timeout) or in PgBouncer\'s connect_query',
    );
  }
}
