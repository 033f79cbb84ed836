import { isIP } from 'node:net';

/** The service's configuration: read from the environment once at start, validated, frozen. */
export interface Config {
  readonly port: number;
  /** NODE_ENV; `production` turns development aids (the dev mailbox page) off. */
  readonly nodeEnv: string;
  readonly host: string;
  /** Unset means: run the embedded PostgreSQL under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Unset means: write mail to the dev mailbox under dataDir/mail. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly appBaseUrl: string;
  /** HOSTED_PAGES: serve the pages (/verify-email, /invitations/accept, /admin). */
  readonly hostedPages: boolean;
  /** CORS_ORIGINS: browser origins allowed to call the API with credentials (default: APP_BASE_URL's origin). */
  readonly corsOrigins: readonly string[];
  readonly dataDir: string;
  readonly logLevel: string;
  /**
   * TRUST_PROXY: false (X-Forwarded-For ignored), a hop count (the client is the entry that many
   * proxies in front appended), or the proxies' addresses and CIDR ranges.
   */
  readonly trustProxy: TrustProxy;
  readonly workspaceProvisionUrl: string | undefined;
  readonly trialDays: number;
  readonly trialEndingSoonDays: number;
  readonly trialReminderDays: number;
  readonly emailVerificationTtlSeconds: number;
  readonly invitationTtlSeconds: number;
  readonly resendCooldownSeconds: number;
  readonly sessionTtlSeconds: number;
  /** How long an instance may trust a session it has checked, unless told it ended. */
  readonly sessionCacheSeconds: number;
  readonly rateLimits: {
    readonly registrationsPerMinute: number;
    readonly signInsPerMinute: number;
    readonly confirmsPerMinute: number;
    readonly onboardingSavesPerMinute: number;
    /** Sign-ins per IP across all addresses. */
    readonly signInsPerIpPerMinute: number;
    /** Failed sign-ins per address from any IP; past it the address is locked until the hour ends. */
    readonly signInFailuresPerAddressPerHour: number;
    /** Verification resends per IP; signed-out new-link requests per IP and per address. */
    readonly resendsPerMinute: number;
    /** New staged sign-ups per IP. */
    readonly signupFlowsPerMinute: number;
    /** Code checks and resume requests, per IP and per address. */
    readonly signupCodesPerMinute: number;
    /** Auto-saves per staged sign-up. */
    readonly signupSavesPerMinute: number;
    /** POST /v1/workspaces per account per hour. */
    readonly workspaceCreationsPerHour: number;
  };
  /** The staged sign-up (POST /v1/signup-flows): lifetimes and retention. */
  readonly signup: {
    readonly idleSeconds: number;
    readonly maxSeconds: number;
    readonly codeTtlSeconds: number;
    readonly retentionDays: number;
    /** The version of the marketing consent text the frontend shows, unless a request names one. */
    readonly consentTextVersion: string;
  };
  readonly onboardingSteps: readonly string[];
  /** PLANS: the plans on offer; the first free one is what a one-call registration gets. */
  readonly plans: readonly Plan[];
  readonly onboardingStatusCacheSeconds: number;
  readonly abandonedAfterDays: number;
  /** Unset means the admin API answers 401 to everyone. */
  readonly adminToken: string | undefined;
  /** Server secret that email links and codes are derived from; unset means one kept under dataDir. */
  readonly tokenSecret: string | undefined;
  /** A statement running longer is cancelled and its request answered 503; 0 means no limit. */
  readonly databaseStatementTimeoutMs: number;
  readonly workerConcurrency: number;
  /** Whether this process runs the job worker beside the HTTP server. */
  readonly runWorker: boolean;
  /** Onboarding steps completed by the first event of a type in the workspace (ONBOARDING_STEP_EVENTS). */
  readonly onboardingStepEvents: readonly { step: string; eventType: string }[];
  /** Webhooks may call private, loopback and link-local addresses: false by default with NODE_ENV=production. */
  readonly webhookAllowPrivate: boolean;
  /** How long a webhook attempt may take (connection, answer and body). */
  readonly webhookTimeoutMs: number;
  /** Finished deliveries and old events are purged after this many days. */
  readonly webhookLogRetentionDays: number;
  /** How often a worker records its heartbeat and sweeps for dead workers. */
  readonly workerHeartbeatSeconds: number;
  /** A worker silent this long is dead: its locked jobs are released to live workers. */
  readonly workerDeadAfterSeconds: number;
  /** Straight to PostgreSQL, for what needs a session when DATABASE_URL is a transaction pooler (PgBouncer). */
  readonly directDatabaseUrl: string | undefined;
  /** Named prepared statements on DATABASE_URL; off by default when DIRECT_DATABASE_URL is set. */
  readonly databasePreparedStatements: boolean;
  /** Bearer token that opens GET /metrics on the API port; unset: not served there. */
  readonly metricsToken: string | undefined;
  /** A separate listener serving only /metrics; unset: none. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly billing: BillingConfig;
}

/** The payment gateway and the billing saga. */
export interface BillingConfig {
  /** Set: the Stripe gateway; unset: the local gateway in PostgreSQL (in production only with PAYMENT_GATEWAY=local). */
  readonly stripeSecretKey: string | undefined;
  /** Verifies POST /v1/webhooks/stripe; required with STRIPE_SECRET_KEY. */
  readonly stripeWebhookSecret: string | undefined;
  /** Another Stripe API host (a stand-in, in tests). */
  readonly stripeApiBase: string | undefined;
  /** Set: the /signup page collects cards with Stripe Elements (js.stripe.com); unset: it offers the local gateway's test cards. */
  readonly stripePublishableKey: string | undefined;
  readonly gatewayTimeoutMs: number;
  /** Attempts of one gateway call on 5xx, 429, timeouts and dropped connections, with the same key. */
  readonly gatewayMaxAttempts: number;
  readonly gatewayRetryBaseMs: number;
  /** A saga with no progress for this long is recovered (compensated before its pivot, finished after). */
  readonly sagaStallSeconds: number;
  /** A saga waiting for a 3-D Secure challenge is undone after this long. */
  readonly sagaActionTimeoutSeconds: number;
}

/**
 * A plan a workspace can be on. `priceId` is the payment gateway's price (null for a free plan);
 * a plan with `requiresPaymentMethod` cannot be chosen without a card.
 */
export interface Plan {
  readonly id: string;
  readonly name: string;
  readonly priceId: string | null;
  readonly trialDays: number;
  readonly requiresPaymentMethod: boolean;
}

/** A plan with no price and no card: what one-call registrations and new workspaces start on. */
export function isFreePlan(plan: Pick<Plan, 'priceId' | 'requiresPaymentMethod'>): boolean {
  return plan.priceId === null && !plan.requiresPaymentMethod;
}

/** What TRUST_PROXY may say; never `true` (which would believe the client-supplied leftmost entry). */
export type TrustProxy = false | { readonly hops: number } | { readonly addresses: readonly string[] };

/** Raised at start when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const PROXY_ADDRESS_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** An IP address, a CIDR range (address/prefix) or one of proxy-addr's named ranges. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_ADDRESS_NAMES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** The plans when PLANS is unset: a free trial with no card, and a paid plan with a trial. */
function defaultPlans(trialDays: number): Plan[] {
  return [
    { id: 'trial', name: 'Free trial', priceId: null, trialDays, requiresPaymentMethod: false },
    { id: 'pro', name: 'Pro', priceId: 'price_pro_monthly', trialDays, requiresPaymentMethod: true },
  ];
}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);
  const trialDays = read.int('TRIAL_DAYS', 14, 1, 3650);
  const onboardingSteps = read.list('ONBOARDING_STEPS', ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import']);
  const appBaseUrl = (read.url('APP_BASE_URL', ['http:', 'https:']) ?? 'http://localhost:3000').replace(/\/+$/, '');
  const directDatabaseUrl = read.url('DIRECT_DATABASE_URL', ['postgres:', 'postgresql:']);
  // Any spelling (Production, PRODUCTION) is production: its safeguards must not hang on letter case.
  const nodeEnv = read.string('NODE_ENV', 'development').trim().toLowerCase();
  const config: Config = {
    port: read.int('PORT', 3000, 0, 65535),
    nodeEnv,
    host: read.string('HOST', '127.0.0.1'),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    smtpUrl: read.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read.string('MAIL_FROM', 'Onboarding <no-reply@localhost>'),
    appBaseUrl,
    hostedPages: read.bool('HOSTED_PAGES', true),
    corsOrigins: read.origins('CORS_ORIGINS', [new URL(appBaseUrl).origin]),
    dataDir: read.string('DATA_DIR', '.data'),
    logLevel: read.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    trustProxy: read.trustProxy('TRUST_PROXY'),
    workspaceProvisionUrl: read.url('WORKSPACE_PROVISION_URL', ['http:', 'https:']),
    trialDays,
    trialEndingSoonDays: read.int('TRIAL_ENDING_SOON_DAYS', 3, 1, 365),
    trialReminderDays: read.int('TRIAL_REMINDER_DAYS', 3, 1, 365),
    emailVerificationTtlSeconds: read.int('EMAIL_VERIFICATION_TTL_SECONDS', 86_400, 60, 31_536_000),
    invitationTtlSeconds: read.int('INVITATION_TTL_SECONDS', 604_800, 60, 31_536_000),
    resendCooldownSeconds: read.int('RESEND_COOLDOWN_SECONDS', 60, 0, 86_400),
    sessionTtlSeconds: read.int('SESSION_TTL_SECONDS', 2_592_000, 60, 31_536_000),
    sessionCacheSeconds: read.int('SESSION_CACHE_SECONDS', 30, 0, 3600),
    rateLimits: {
      registrationsPerMinute: read.int('RATE_LIMIT_REGISTRATIONS_PER_MINUTE', 10, 1, 1_000_000),
      signInsPerMinute: read.int('RATE_LIMIT_SIGNINS_PER_MINUTE', 10, 1, 1_000_000),
      confirmsPerMinute: read.int('RATE_LIMIT_CONFIRMS_PER_MINUTE', 30, 1, 1_000_000),
      onboardingSavesPerMinute: read.int('ONBOARDING_SAVES_PER_MINUTE', 120, 1, 1_000_000),
      signInsPerIpPerMinute: read.int('RATE_LIMIT_SIGNINS_PER_IP_PER_MINUTE', 30, 1, 1_000_000),
      signInFailuresPerAddressPerHour: read.int('SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR', 20, 1, 1_000_000),
      resendsPerMinute: read.int('RATE_LIMIT_RESENDS_PER_MINUTE', 10, 1, 1_000_000),
      signupFlowsPerMinute: read.int('RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE', 10, 1, 1_000_000),
      signupCodesPerMinute: read.int('RATE_LIMIT_SIGNUP_CODES_PER_MINUTE', 10, 1, 1_000_000),
      signupSavesPerMinute: read.int('SIGNUP_SAVES_PER_MINUTE', 120, 1, 1_000_000),
      workspaceCreationsPerHour: read.int('RATE_LIMIT_WORKSPACE_CREATIONS_PER_HOUR', 20, 1, 1_000_000),
    },
    signup: {
      idleSeconds: read.int('SIGNUP_FLOW_IDLE_SECONDS', 86_400, 60, 31_536_000),
      maxSeconds: read.int('SIGNUP_FLOW_MAX_SECONDS', 604_800, 60, 31_536_000),
      codeTtlSeconds: read.int('SIGNUP_CODE_TTL_SECONDS', 600, 30, 86_400),
      retentionDays: read.int('SIGNUP_FLOW_RETENTION_DAYS', 30, 0, 3650),
      consentTextVersion: read.string('SIGNUP_CONSENT_TEXT_VERSION', 'v1'),
    },
    onboardingSteps,
    onboardingStatusCacheSeconds: read.int('ONBOARDING_STATUS_CACHE_SECONDS', 30, 0, 3600),
    abandonedAfterDays: read.int('ABANDONED_AFTER_DAYS', 7, 1, 3650),
    plans: read.plans('PLANS', defaultPlans(trialDays)),
    adminToken: read.secret('ADMIN_TOKEN', 32),
    tokenSecret: read.secret('TOKEN_SECRET', 32),
    databaseStatementTimeoutMs: read.int('DATABASE_STATEMENT_TIMEOUT_MS', 15_000, 0, 3_600_000),
    workerConcurrency: read.int('WORKER_CONCURRENCY', 5, 1, 100),
    runWorker: read.bool('RUN_WORKER', true),
    onboardingStepEvents: read.stepEvents('ONBOARDING_STEP_EVENTS', onboardingSteps),
    webhookAllowPrivate: read.bool('WEBHOOK_ALLOW_PRIVATE', nodeEnv !== 'production'),
    webhookTimeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
    webhookLogRetentionDays: read.int('WEBHOOK_LOG_RETENTION_DAYS', 30, 1, 3650),
    workerHeartbeatSeconds: read.int('WORKER_HEARTBEAT_SECONDS', 10, 1, 600),
    workerDeadAfterSeconds: read.int('WORKER_DEAD_AFTER_SECONDS', 30, 2, 3600),
    directDatabaseUrl,
    databasePreparedStatements: read.bool('DATABASE_PREPARED_STATEMENTS', directDatabaseUrl === undefined),
    metricsToken: read.secret('METRICS_TOKEN', 32),
    metricsPort: env.METRICS_PORT?.trim() ? read.int('METRICS_PORT', 0, 1, 65535) : undefined,
    metricsHost: read.string('METRICS_HOST', '127.0.0.1'),
    billing: {
      stripeSecretKey: read.secret('STRIPE_SECRET_KEY', 8),
      stripeWebhookSecret: read.secret('STRIPE_WEBHOOK_SECRET', 8),
      stripeApiBase: read.url('STRIPE_API_BASE', ['http:', 'https:']),
      stripePublishableKey: read.secret('STRIPE_PUBLISHABLE_KEY', 8),
      gatewayTimeoutMs: read.int('GATEWAY_TIMEOUT_MS', 10_000, 50, 120_000),
      gatewayMaxAttempts: read.int('GATEWAY_MAX_ATTEMPTS', 3, 1, 10),
      gatewayRetryBaseMs: read.int('GATEWAY_RETRY_BASE_MS', 250, 0, 60_000),
      sagaStallSeconds: read.int('SAGA_STALL_SECONDS', 60, 1, 86_400),
      sagaActionTimeoutSeconds: read.int('SAGA_ACTION_TIMEOUT_SECONDS', 3_600, 60, 604_800),
    },
  };
  if (config.signup.maxSeconds < config.signup.idleSeconds) {
    problems.push('SIGNUP_FLOW_MAX_SECONDS must be at least SIGNUP_FLOW_IDLE_SECONDS: a flow cannot idle longer than it may live.');
  }
  if (config.workerDeadAfterSeconds < 2 * config.workerHeartbeatSeconds) {
    // One late heartbeat must not make a live worker look dead and its jobs run twice.
    problems.push(`WORKER_DEAD_AFTER_SECONDS (${config.workerDeadAfterSeconds}) must be at least twice WORKER_HEARTBEAT_SECONDS (${config.workerHeartbeatSeconds}).`);
  }
  if (directDatabaseUrl && !config.databaseUrl) problems.push('DIRECT_DATABASE_URL needs DATABASE_URL: it is the direct route beside a pooled DATABASE_URL.');
  if (config.billing.stripePublishableKey && !config.billing.stripeSecretKey) {
    problems.push('STRIPE_PUBLISHABLE_KEY needs STRIPE_SECRET_KEY: cards collected by Stripe Elements exist only at Stripe, and the local gateway cannot charge them.');
  }
  // PAYMENT_GATEWAY only says what STRIPE_SECRET_KEY implies, except where it is the opt-in below.
  const paymentGateway = env.PAYMENT_GATEWAY?.trim() ? read.oneOf('PAYMENT_GATEWAY', config.billing.stripeSecretKey ? 'stripe' : 'local', ['stripe', 'local']) : undefined;
  if (paymentGateway === 'stripe' && !config.billing.stripeSecretKey) {
    problems.push('PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.');
  } else if (paymentGateway === 'local' && config.billing.stripeSecretKey) {
    problems.push('PAYMENT_GATEWAY=local contradicts STRIPE_SECRET_KEY: unset one of them.');
  } else if (paymentGateway === undefined && !config.billing.stripeSecretKey && config.nodeEnv === 'production') {
    // The local gateway accepts test cards (pm_card_visa) as payment and serves an unauthenticated challenge route.
    problems.push('STRIPE_SECRET_KEY is required with NODE_ENV=production: without it the local gateway gives the paid plans away for test cards. Set PAYMENT_GATEWAY=local to run it anyway (a demo or staging).');
  }
  if (config.billing.stripeSecretKey && !config.billing.stripeWebhookSecret) {
    problems.push('STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY: without it, subscription changes made at Stripe never reach the service.');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${value}".`);
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(value)) return true;
    if (['0', 'false', 'no'].includes(value)) return false;
    this.problems.push(`${name} must be true or false, got "${value}".`);
    return fallback;
  }

  /**
   * `false`/`0`, a hop count, or a comma-separated list of addresses, CIDR ranges and proxy-addr's
   * names (loopback, linklocal, uniquelocal). `true` is refused: it would take the leftmost
   * X-Forwarded-For entry, which any client can write.
   */
  trustProxy(name: string): TrustProxy {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined || value === 'false' || value === 'no' || value === '0') return false;
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops <= 10) return Object.freeze({ hops });
    } else if (value !== 'true' && value !== 'yes') {
      const addresses = value.split(',').map((item) => item.trim());
      if (addresses.every(isProxyAddress)) return Object.freeze({ addresses: Object.freeze(addresses) });
    }
    this.problems.push(
      `${name} must be false, the number of proxies in front of the service (e.g. 1), or a comma-separated list of the proxies' addresses or CIDR ranges (e.g. 10.0.0.0/8), got "${value}". ` +
        '"true" is refused because it would believe the client-supplied leftmost X-Forwarded-For entry.',
    );
    return false;
  }

  oneOf(name: string, fallback: string, allowed: string[]): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (allowed.includes(value)) return value;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${value}".`);
    return fallback;
  }

  url(name: string, protocols: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (protocols.includes(url.protocol)) return value;
    } catch {
      // reported below
    }
    this.problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}.`);
    return undefined;
  }

  list(name: string, fallback: string[]): string[] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const items = value.split(',').map((item) => item.trim());
    if (items.some((item) => !/^[a-z][a-z0-9_]{0,63}$/.test(item)) || new Set(items).size !== items.length) {
      this.problems.push(`${name} must be a comma-separated list of distinct snake_case keys, got "${value}".`);
      return fallback;
    }
    return items;
  }

  /**
   * `step:event.type` pairs, comma-separated (default `invited_teammate:member.invited`, kept only
   * when that step is configured); an explicit pair must name a configured step.
   */
  stepEvents(name: string, steps: readonly string[]): { step: string; eventType: string }[] {
    const value = this.raw(name);
    if (value === undefined) return steps.includes('invited_teammate') ? [{ step: 'invited_teammate', eventType: 'member.invited' }] : [];
    if (value === 'none') return [];
    const pairs = value.split(',').map((item) => item.trim().split(':'));
    const ok = pairs.every(([step, eventType, ...rest]) => rest.length === 0 && step !== undefined && steps.includes(step) && /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/.test(eventType ?? ''));
    if (!ok) {
      this.problems.push(`${name} must be comma-separated step:event.type pairs naming steps of ONBOARDING_STEPS (or "none"), got "${value}".`);
      return [];
    }
    return pairs.map(([step, eventType]) => ({ step: step!, eventType: eventType! }));
  }

  /** Comma-separated origins (scheme, host and port, no path), e.g. `https://app.example.com,http://localhost:5173`. */
  origins(name: string, fallback: string[]): string[] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const items = value.split(',').map((item) => item.trim()).filter(Boolean);
    const origins = items.map((item) => {
      try {
        const url = new URL(item);
        return ['http:', 'https:'].includes(url.protocol) && url.origin === item.replace(/\/$/, '') ? url.origin : undefined;
      } catch {
        return undefined;
      }
    });
    if (items.length === 0 || origins.includes(undefined)) {
      this.problems.push(`${name} must be a comma-separated list of origins such as https://app.example.com (scheme, host and port only), got "${value}".`);
      return fallback;
    }
    return [...new Set(origins as string[])];
  }

  /** A JSON array of plans: `[{"id","name","priceId","trialDays","requiresPaymentMethod"}]`. */
  plans(name: string, fallback: Plan[]): Plan[] {
    const value = this.raw(name);
    if (value === undefined) return fallback.map((plan) => Object.freeze(plan));
    const fail = (why: string) => {
      this.problems.push(`${name} must be a JSON array of {"id","name","priceId","trialDays","requiresPaymentMethod"}: ${why}`);
      return fallback;
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return fail('it is not valid JSON.');
    }
    if (!Array.isArray(parsed) || parsed.length === 0) return fail('it is not a non-empty array.');
    const plans: Plan[] = [];
    for (const [index, item] of parsed.entries()) {
      const plan = item as Partial<Record<keyof Plan, unknown>>;
      const ok =
        typeof plan === 'object' && plan !== null &&
        typeof plan.id === 'string' && /^[a-z][a-z0-9_]{0,49}$/.test(plan.id) &&
        typeof plan.name === 'string' && plan.name.trim() !== '' &&
        (plan.priceId === null || (typeof plan.priceId === 'string' && plan.priceId !== '')) &&
        Number.isInteger(plan.trialDays) && (plan.trialDays as number) >= 0 && (plan.trialDays as number) <= 3650 &&
        typeof plan.requiresPaymentMethod === 'boolean' &&
        !(plan.requiresPaymentMethod && plan.priceId === null) &&
        // A free plan's trial is its whole life here: 0 days would end it the moment the address is verified.
        !(plan.priceId === null && plan.trialDays === 0);
      if (!ok) return fail(`entry ${index} needs a snake_case id, a name, priceId (a string, or null for a free plan without a payment method), trialDays 0-3650 (at least 1 for a free plan) and requiresPaymentMethod.`);
      plans.push(Object.freeze({ id: plan.id, name: plan.name, priceId: plan.priceId, trialDays: plan.trialDays, requiresPaymentMethod: plan.requiresPaymentMethod } as Plan));
    }
    if (new Set(plans.map((plan) => plan.id)).size !== plans.length) return fail('two plans share an id.');
    // One-call registrations and new workspaces start on the first free plan (defaultPlan).
    if (!plans.some(isFreePlan)) {
      return fail('none is free (priceId null, requiresPaymentMethod false), and one-call registrations and new workspaces start on the first free one.');
    }
    return plans;
  }

  secret(name: string, minLength: number): string | undefined {
    const value = this.raw(name);
    if (value !== undefined && value.length < minLength) {
      this.problems.push(`${name} must be at least ${minLength} characters long.`);
      return undefined;
    }
    return value;
  }
}
