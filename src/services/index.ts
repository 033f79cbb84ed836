import type pg from 'pg';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Mailer } from '../mail/mailer.js';
import { AccountRepository } from '../repositories/account-repository.js';
import { AdminRepository } from '../repositories/admin-repository.js';
import { AdminPageSessionRepository } from '../repositories/admin-page-session-repository.js';
import { AuditRepository } from '../repositories/audit-repository.js';
import { EventRepository } from '../repositories/events/event-repository.js';
import { WebhookRepository } from '../repositories/events/webhook-repository.js';
import { EmailDeliveryRepository } from '../repositories/email-delivery-repository.js';
import { IdempotencyRepository } from '../repositories/idempotency-repository.js';
import { InvitationRepository } from '../repositories/invitation-repository.js';
import { OnboardingRepository } from '../repositories/onboarding-repository.js';
import { RateLimitRepository } from '../repositories/rate-limit-repository.js';
import { RegistrationRepository } from '../repositories/registration-repository.js';
import { ReportRepository } from '../repositories/report-repository.js';
import { TrialRepository } from '../repositories/trial-repository.js';
import { SessionRepository } from '../repositories/session-repository.js';
import { ProfileRepository } from '../repositories/signup/profile-repository.js';
import { SignupFlowRepository } from '../repositories/signup/signup-flow-repository.js';
import { SignupLeadRepository } from '../repositories/signup/signup-lead-repository.js';
import { VerificationRepository } from '../repositories/verification-repository.js';
import { WorkerHeartbeatRepository } from '../repositories/worker-heartbeat-repository.js';
import { WorkspaceRepository } from '../repositories/workspace-repository.js';
import { NewWorkspaceRepository } from '../repositories/new-workspace-repository.js';
import { AccountService } from './account-service.js';
import { AdminPageSessionService } from './admin-page-session-service.js';
import { AdminService } from './admin-service.js';
import { EmailService } from './email-service.js';
import { EventRecorder } from './events/event-recorder.js';
import { WebhookService } from './events/webhook-service.js';
import { SecretBox } from './events/webhook-secrets.js';
import { HealthService } from './health-service.js';
import { LifecycleService } from './lifecycle-service.js';
import { InvitationService } from './invitation-service.js';
import { MembershipService } from './membership-service.js';
import { OnboardingService } from './onboarding-service.js';
import { ProvisioningService } from './provisioning-service.js';
import { RateLimitService } from './rate-limit-service.js';
import { RegistrationService } from './registration-service.js';
import { SessionService } from './session-service.js';
import { SignupCompletion } from './signup/signup-completion.js';
import { paidSignupPivot, SignupFlowService } from './signup/signup-flow-service.js';
import { SignupLeadService } from './signup/signup-lead-service.js';
import { SignInGuard } from './sign-in-guard.js';
import type { StatusCache } from './status-cache.js';
import type { TokenDeriver } from './token-deriver.js';
import { VerificationService } from './verification-service.js';
import { WorkerRegistry } from './worker-registry.js';
import { WorkspaceService } from './workspace-service.js';
import { BillingRepository } from '../repositories/billing/billing-repository.js';
import { GatewayEventRepository } from '../repositories/billing/gateway-event-repository.js';
import { SagaRepository } from '../repositories/billing/saga-repository.js';
import { BillingService } from './billing/billing-service.js';
import { GatewayEventService } from './billing/gateway-events.js';
import type { GatewayEvent, PaymentGateway } from './billing/payment-gateway.js';
import { SagaRunner } from './billing/saga.js';
import { WorkspaceCreationService } from './workspace-creation-service.js';

/** Every service, wired to its repositories: what the HTTP layer and the jobs call. */
export type Services = ReturnType<typeof createServices>;

/** The payment gateway the composition root chose, and the Stripe webhook verifier when configured. */
export interface BillingPorts {
  gateway: PaymentGateway;
  verifyStripeWebhook?: (rawBody: Buffer, signature: string) => GatewayEvent;
  /** Straight to PostgreSQL: a saga's driver holds a session advisory lock, which a transaction pooler would not keep. */
  sessionPool: pg.Pool;
}

/**
 * Builds the repositories and the services over them. `tokens` derives every emailed link and code
 * from the server secret (see TokenDeriver).
 */
export function createServices(deps: { db: Db; pool: pg.Pool; config: Config; mailer: Mailer; statusCache: StatusCache; tokens: TokenDeriver; billing: BillingPorts }) {
  const { db, pool, config, mailer, statusCache, tokens } = deps;
  const accounts = new AccountRepository(db);
  const workspaces = new WorkspaceRepository(db);
  const verifications = new VerificationRepository(db);
  const audit = new AuditRepository(db);
  const idempotency = new IdempotencyRepository(db);
  const adminPageSessions = new AdminPageSessionService(new AdminPageSessionRepository(db), config.adminToken);
  const invitations = new InvitationRepository(db);
  const sessionRows = new SessionRepository(db);
  const rateLimits = new RateLimitRepository(db);
  const rateLimitService = new RateLimitService(db, rateLimits);
  const signInGuard = new SignInGuard({
    limits: rateLimitService,
    accounts,
    audit,
    mailer,
    failuresPerHour: config.rateLimits.signInFailuresPerAddressPerHour,
    appBaseUrl: config.appBaseUrl,
  });
  const sessions = new SessionService(db, accounts, sessionRows, config.sessionTtlSeconds, config.sessionCacheSeconds, signInGuard);
  const access = new WorkspaceService(workspaces);
  const onboarding = new OnboardingRepository(db);
  const trials = new TrialRepository(db);
  const signupFlows = new SignupFlowRepository(db);
  const billingRows = new BillingRepository(db);
  const eventRows = new EventRepository(db);
  const events = new EventRecorder(eventRows);
  const provisioning = new ProvisioningService(workspaces, config.workspaceProvisionUrl, db, events);
  const emailDeliveries = new EmailDeliveryRepository(db);
  const onboardingService = new OnboardingService({
    db,
    onboarding,
    workspaces,
    audit,
    events,
    access,
    cache: statusCache,
    steps: config.onboardingSteps,
    abandonedAfterDays: config.abandonedAfterDays,
  });
  const sagas = new SagaRepository(db);
  const gatewayEvents = new GatewayEventRepository(db);
  // A verified owner's trial lasts as long as its workspace's plan says (PLANS), TRIAL_DAYS otherwise.
  const trialDays = { byPlan: Object.fromEntries(config.plans.map((plan) => [plan.id, plan.trialDays])), otherwise: config.trialDays };
  const billingConfig = config.billing;
  const sagaRunner = new SagaRunner(
    { db, pool: deps.billing.sessionPool, sagas },
    {
      maxAttempts: billingConfig.gatewayMaxAttempts,
      retryBaseMs: billingConfig.gatewayRetryBaseMs,
      stallSeconds: billingConfig.sagaStallSeconds,
      actionTimeoutSeconds: billingConfig.sagaActionTimeoutSeconds,
      joinWaitMs: 60_000,
    },
  );
  const billing = new BillingService({
    db,
    gateway: deps.billing.gateway,
    runner: sagaRunner,
    sagas,
    billing: billingRows,
    events: gatewayEvents,
    workspaces,
    accounts,
    audit,
    access,
    plans: config.plans,
    gatewayRetries: { maxAttempts: billingConfig.gatewayMaxAttempts, baseMs: billingConfig.gatewayRetryBaseMs },
    outbox: events,
  });
  const signupCompletion = new SignupCompletion({ accounts, workspaces, onboarding, profiles: new ProfileRepository(db), flows: signupFlows, audit, events, plans: config.plans });
  // The paid sign-up's pivot: the staged sign-up's own one-transaction completion.
  billing.defineSignup(paidSignupPivot(signupFlows, signupCompletion));
  for (const { step, eventType } of config.onboardingStepEvents) {
    events.on(eventType, (trx, event) => onboardingService.completeStepByEvent(trx, event, step));
  }
  return {
    sagaRunner,
    billing,
    gatewayEvents: new GatewayEventService({ db, events: gatewayEvents, billing: billingRows, sagas, outbox: events, verifyStripeWebhook: deps.billing.verifyStripeWebhook }),
    events,
    webhooks: new WebhookService({
      db,
      webhooks: new WebhookRepository(db),
      eventRows,
      events,
      audit,
      secrets: new SecretBox(deps.tokens.key('webhook-secrets')),
      allowPrivate: config.webhookAllowPrivate,
      timeoutMs: config.webhookTimeoutMs,
      logRetentionDays: config.webhookLogRetentionDays,
    }),
    sessions,
    registrations: new RegistrationService({
      db,
      accounts,
      signups: new RegistrationRepository(db),
      idempotency,
      sessions,
      events,
      provisioning,
      tokens,
      emailVerificationTtlSeconds: config.emailVerificationTtlSeconds,
      plans: config.plans,
    }),
    verifications: new VerificationService({
      db,
      accounts,
      workspaces,
      verifications,
      audit,
      events,
      tokens,
      trialDays,
      emailVerificationTtlSeconds: config.emailVerificationTtlSeconds,
      resendCooldownSeconds: config.resendCooldownSeconds,
      rateLimits: rateLimitService,
      requestsPerAddressPerMinute: config.rateLimits.resendsPerMinute,
    }),
    accounts: new AccountService(accounts, workspaces),
    workspaces: access,
    workspaceCreation: new WorkspaceCreationService({ db, accounts, newWorkspaces: new NewWorkspaceRepository(db), idempotency, events, plans: config.plans }),
    invitations: new InvitationService({
      db,
      accounts,
      workspaces,
      invitations,
      onboarding,
      sessionRows,
      audit,
      events,
      access,
      sessions,
      tokens,
      invitationTtlSeconds: config.invitationTtlSeconds,
      resendCooldownSeconds: config.resendCooldownSeconds,
      trialDays,
    }),
    members: new MembershipService({ db, workspaces, onboarding, audit, events, access }),
    onboarding: onboardingService,
    adminPageSessions,
    admin: new AdminService({
      db,
      plans: config.plans,
      idempotency,
      admin: new AdminRepository(db),
      reports: new ReportRepository(db),
      workspaces,
      invitations,
      audit,
      events,
      onboarding: onboardingService,
      billing: billingRows,
      sagas,
      steps: config.onboardingSteps,
      endingSoonDays: config.trialEndingSoonDays,
    }),
    provisioning,
    email: new EmailService({ mailer, tokens, verifications, invitations, workspaces, trials, deliveries: emailDeliveries, appBaseUrl: config.appBaseUrl }),
    health: new HealthService(pool),
    workers: new WorkerRegistry(new WorkerHeartbeatRepository(db), config.workerDeadAfterSeconds),
    rateLimits: rateLimitService,
    signupCompletion,
    signupFlows: new SignupFlowService({
      db,
      flows: signupFlows,
      accounts,
      sessions,
      rateLimits: rateLimitService,
      tokens: deps.tokens,
      config,
      completion: signupCompletion,
      billing,
    }),
    signupLeads: new SignupLeadService({
      db,
      flows: signupFlows,
      leads: new SignupLeadRepository(db),
      audit,
      mailer,
      deliveries: emailDeliveries,
      tokens: deps.tokens,
      events,
      retentionDays: config.signup.retentionDays,
    }),
    signInGuard,
    lifecycle: new LifecycleService({
      db,
      trials,
      verifications,
      invitations,
      idempotency,
      rateLimits,
      emailDeliveries,
      sessions,
      adminPageSessions,
      events,
      trialReminderDays: config.trialReminderDays,
    }),
  };
}
