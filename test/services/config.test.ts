import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

t.test('defaults describe a local development setup', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    port: 3000,
    host: '127.0.0.1',
    databaseUrl: undefined,
    smtpUrl: undefined,
    appBaseUrl: 'http://localhost:3000',
    trialDays: 14,
    emailVerificationTtlSeconds: 86_400,
    resendCooldownSeconds: 60,
    rateLimits: {
      registrationsPerMinute: 10,
      signInsPerMinute: 10,
      confirmsPerMinute: 30,
      signInsPerIpPerMinute: 30,
      signInFailuresPerAddressPerHour: 20,
      resendsPerMinute: 10,
    },
    trustProxy: false,
    databaseStatementTimeoutMs: 15_000,
  });
  t.ok(Object.isFrozen(config));
});

t.test('every invalid variable is named in one error', async (t) => {
  const error = t.throws(() =>
    loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', TRIAL_DAYS: '0', TRUST_PROXY: 'maybe', APP_BASE_URL: 'nope', ADMIN_TOKEN: 'short', DATABASE_STATEMENT_TIMEOUT_MS: '-1' }),
  ) as ConfigError;
  t.type(error, ConfigError);
  for (const name of ['PORT', 'DATABASE_URL', 'TRIAL_DAYS', 'TRUST_PROXY', 'APP_BASE_URL', 'ADMIN_TOKEN', 'DATABASE_STATEMENT_TIMEOUT_MS']) {
    t.ok(error.problems.some((p) => p.startsWith(name)), `names ${name}`);
  }
});

t.test('values are read and normalised', async (t) => {
  const config = loadConfig({ APP_BASE_URL: 'https://app.example.com/', TRUST_PROXY: '1', ONBOARDING_STEPS: 'a_step, b_step' });
  t.equal(config.appBaseUrl, 'https://app.example.com');
  t.same(config.trustProxy, { hops: 1 });
  t.same(config.onboardingSteps, ['a_step', 'b_step']);
});

t.test('plans: a free trial and a paid plan by default, or PLANS as JSON', async (t) => {
  const defaults = loadConfig({ TRIAL_DAYS: '21' }).plans;
  t.same(defaults, [
    { id: 'trial', name: 'Free trial', priceId: null, trialDays: 21, requiresPaymentMethod: false },
    { id: 'pro', name: 'Pro', priceId: 'price_pro_monthly', trialDays: 21, requiresPaymentMethod: true },
  ]);
  const plans = loadConfig({ PLANS: '[{"id":"team","name":"Team","priceId":"price_1","trialDays":7,"requiresPaymentMethod":true},{"id":"free","name":"Free","priceId":null,"trialDays":30,"requiresPaymentMethod":false}]' }).plans;
  t.same(plans, [
    { id: 'team', name: 'Team', priceId: 'price_1', trialDays: 7, requiresPaymentMethod: true },
    { id: 'free', name: 'Free', priceId: null, trialDays: 30, requiresPaymentMethod: false },
  ]);
  const paidOnly = t.throws(() => loadConfig({ PLANS: '[{"id":"team","name":"Team","priceId":"price_1","trialDays":7,"requiresPaymentMethod":true}]' })) as ConfigError;
  t.ok(paidOnly.problems.some((p) => p.includes('none is free')), 'plans with no free one are refused at start: one-call registrations start on it');
  t.ok(Object.isFrozen(plans[0]));
  for (const bad of ['nope', '[]', '[{"id":"Bad Id","name":"x","priceId":null,"trialDays":1,"requiresPaymentMethod":false}]',
    '[{"id":"paid","name":"Paid","priceId":null,"trialDays":1,"requiresPaymentMethod":true}]',
    '[{"id":"free","name":"Free","priceId":null,"trialDays":0,"requiresPaymentMethod":false}]',
    '[{"id":"a","name":"A","priceId":null,"trialDays":1,"requiresPaymentMethod":false},{"id":"a","name":"B","priceId":null,"trialDays":1,"requiresPaymentMethod":false}]']) {
    const error = t.throws(() => loadConfig({ PLANS: bad })) as ConfigError;
    t.ok(error.problems.some((p) => p.startsWith('PLANS must be a JSON array')), `refuses ${bad}`);
  }
});

t.test('staged sign-up: lifetimes, retention and limits, with their defaults', async (t) => {
  t.match(loadConfig({}), {
    signup: { idleSeconds: 86_400, maxSeconds: 604_800, codeTtlSeconds: 600, retentionDays: 30, consentTextVersion: 'v1' },
    rateLimits: { signupFlowsPerMinute: 10, signupCodesPerMinute: 10, signupSavesPerMinute: 120 },
  });
  const error = t.throws(() => loadConfig({ SIGNUP_FLOW_IDLE_SECONDS: '7200', SIGNUP_FLOW_MAX_SECONDS: '3600', SIGNUP_CODE_TTL_SECONDS: '5', RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE: '0' })) as ConfigError;
  for (const name of ['SIGNUP_FLOW_MAX_SECONDS', 'SIGNUP_CODE_TTL_SECONDS', 'RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE']) {
    t.ok(error.problems.some((p) => p.startsWith(name)), `names ${name}`);
  }
});

t.test('worker crash recovery: heartbeat every 10 s, dead after 30 s; a dead-after below two heartbeats is refused', async (t) => {
  t.match(loadConfig({}), { workerHeartbeatSeconds: 10, workerDeadAfterSeconds: 30 });
  t.match(loadConfig({ WORKER_HEARTBEAT_SECONDS: '1', WORKER_DEAD_AFTER_SECONDS: '2' }), { workerHeartbeatSeconds: 1, workerDeadAfterSeconds: 2 });
  const error = t.throws(() => loadConfig({ WORKER_HEARTBEAT_SECONDS: '20' })) as ConfigError;
  t.match(error.problems, [/WORKER_DEAD_AFTER_SECONDS \(30\) must be at least twice WORKER_HEARTBEAT_SECONDS \(20\)/]);
  const bounds = t.throws(() => loadConfig({ WORKER_HEARTBEAT_SECONDS: '0', WORKER_DEAD_AFTER_SECONDS: '1' })) as ConfigError;
  t.ok(bounds.problems.some((p) => p.startsWith('WORKER_HEARTBEAT_SECONDS')) && bounds.problems.some((p) => p.startsWith('WORKER_DEAD_AFTER_SECONDS')));
});

t.test('TRUST_PROXY: false, a hop count, or the proxies; never true, which would believe the leftmost entry', async (t) => {
  for (const off of [undefined, '', 'false', '0', 'no']) t.equal(loadConfig({ TRUST_PROXY: off }).trustProxy, false, `${off} is off`);
  t.same(loadConfig({ TRUST_PROXY: '2' }).trustProxy, { hops: 2 });
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1,fd00::/8,loopback' }).trustProxy, {
    addresses: ['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', 'loopback'],
  });
  for (const bad of ['true', 'yes', 'TRUE', '11', '10.0.0.0/33', '10.0.0.300', 'proxy.example.com', '10.0.0.1/8/1', '::1/129']) {
    const error = t.throws(() => loadConfig({ TRUST_PROXY: bad })) as ConfigError;
    t.ok(error.problems.some((p) => p.startsWith('TRUST_PROXY must be false, the number of proxies')), `refuses ${bad}`);
  }
  const error = t.throws(() => loadConfig({ TRUST_PROXY: 'true' })) as ConfigError;
  t.match(error.problems[0], /"true" is refused because it would believe the client-supplied leftmost X-Forwarded-For entry/);
});

t.test('production needs STRIPE_SECRET_KEY, unless PAYMENT_GATEWAY=local opts in to the local gateway', async (t) => {
  const error = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as ConfigError;
  t.match(error.problems, [/^STRIPE_SECRET_KEY is required with NODE_ENV=production: .*Set PAYMENT_GATEWAY=local/]);
  t.throws(() => loadConfig({ NODE_ENV: ' Production ' }), ConfigError, 'NODE_ENV in any letter case is production');
  t.equal(loadConfig({ NODE_ENV: 'production', PAYMENT_GATEWAY: 'local' }).billing.stripeSecretKey, undefined, 'the opt-in runs the local gateway');
  t.ok(loadConfig({ NODE_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_12345678', STRIPE_WEBHOOK_SECRET: 'whsec_12345678' }), 'Stripe needs no opt-in');
  for (const nodeEnv of [undefined, 'development', 'test']) t.equal(loadConfig({ NODE_ENV: nodeEnv }).billing.stripeSecretKey, undefined, `${nodeEnv}: the local gateway without an opt-in`);
  t.match((t.throws(() => loadConfig({ PAYMENT_GATEWAY: 'stripe' })) as ConfigError).problems, [/^PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY/]);
  t.match((t.throws(() => loadConfig({ PAYMENT_GATEWAY: 'local', STRIPE_SECRET_KEY: 'sk_test_12345678', STRIPE_WEBHOOK_SECRET: 'whsec_12345678' })) as ConfigError).problems, [/^PAYMENT_GATEWAY=local contradicts STRIPE_SECRET_KEY/]);
  t.match((t.throws(() => loadConfig({ NODE_ENV: 'production', PAYMENT_GATEWAY: 'free' })) as ConfigError).problems, [/^PAYMENT_GATEWAY must be one of stripe, local/]);
});
