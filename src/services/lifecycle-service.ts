import type { Db } from '../db/database.js';
import type { EmailDeliveryRepository } from '../repositories/email-delivery-repository.js';
import type { IdempotencyRepository } from '../repositories/idempotency-repository.js';
import type { InvitationRepository } from '../repositories/invitation-repository.js';
import { enqueueJobs } from '../repositories/job-queue.js';
import type { RateLimitRepository } from '../repositories/rate-limit-repository.js';
import type { TrialRepository } from '../repositories/trial-repository.js';
import type { VerificationRepository } from '../repositories/verification-repository.js';
import type { AdminPageSessionService } from './admin-page-session-service.js';
import type { EventRecorder } from './events/event-recorder.js';
import { drain, type SessionService } from './session-service.js';

/** How long used or dead tokens and invitations are kept, for support questions. */
const KEEP_DEAD_DAYS = 30;
const BATCH = 1000;
/** "Trial ended" emails go out for trials that ended within this many days (not for ancient ones). */
const ENDED_WITHIN_DAYS = 7;

/** The jobs that keep the trial lifecycle moving and the tables tidy. */
export class LifecycleService {
  constructor(
    private readonly deps: {
      db: Db;
      trials: TrialRepository;
      verifications: VerificationRepository;
      invitations: InvitationRepository;
      idempotency: IdempotencyRepository;
      rateLimits: RateLimitRepository;
      emailDeliveries: EmailDeliveryRepository;
      sessions: SessionService;
      adminPageSessions: AdminPageSessionService;
      events: EventRecorder;
      trialReminderDays: number;
    },
  ) {}

  /**
   * Claims the trial emails now due and queues one email job for each, in one transaction: a claim
   * and its job commit together, and a claimed email is never claimed again.
   */
  async queueTrialEmails(): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      const due = await this.deps.trials.withTx(trx).claimDue(this.deps.trialReminderDays, ENDED_WITHIN_DAYS);
      if (due.length > 0) {
        await enqueueJobs(
          trx,
          due.map((email) => ({
            name: 'send_trial_email' as const,
            payload: email,
            options: { jobKey: `trial-email:${email.workspaceId}:${email.kind}:${email.trialEndsAt}` },
          })),
        );
      }
      await this.deps.events.record(
        trx,
        ...due.map(({ workspaceId, kind, trialEndsAt }) => ({
          type: kind === 'ending_soon' ? ('trial.ending_soon' as const) : ('trial.expired' as const),
          workspaceId,
          data: { workspaceId, trialEndsAt: new Date(trialEndsAt).toISOString() },
        })),
      );
      return due.length;
    });
  }

  /** Deletes, in batches, what is no longer needed; returns how many rows went, by kind. */
  async purge(): Promise<Record<string, number>> {
    const { verifications, invitations, idempotency, rateLimits, emailDeliveries, sessions, adminPageSessions } = this.deps;
    return {
      verifications: await drain(() => verifications.deleteDead(KEEP_DEAD_DAYS, BATCH), BATCH),
      invitations: await drain(() => invitations.deleteDead(KEEP_DEAD_DAYS, BATCH), BATCH),
      sessions: await sessions.purgeExpired(BATCH),
      adminPageSessions: await adminPageSessions.purgeExpired(BATCH),
      idempotencyKeys: await drain(() => idempotency.deleteOlderThan(24 * 60 * 60, BATCH), BATCH),
      rateLimits: await drain(() => rateLimits.deleteExpired(BATCH), BATCH),
      emailDeliveries: await drain(() => emailDeliveries.deleteOlderThan(KEEP_DEAD_DAYS, BATCH), BATCH),
    };
  }
}
