import { createHash } from 'node:crypto';
import type { Db, Tx } from '../db/database.js';
import { AppError, invalidFields } from '../errors.js';
import type { AdminRepository, AdminWorkspaceRow, AuditEventRow, AuditFilter, Keyset, StatsRow, WorkspaceFilter } from '../repositories/admin-repository.js';
import type { Actor, AuditRepository } from '../repositories/audit-repository.js';
import type { BillingRepository, BillingRow } from '../repositories/billing/billing-repository.js';
import type { SagaRepository, SagaRow } from '../repositories/billing/saga-repository.js';
import type { InvitationRepository } from '../repositories/invitation-repository.js';
import type { IdempotencyRepository } from '../repositories/idempotency-repository.js';
import type { FunnelRow, ReportRepository } from '../repositories/report-repository.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { EventRecorder } from './events/event-recorder.js';
import type { InvitationView } from './invitation-service.js';
import type { MemberView } from './membership-service.js';
import type { OnboardingService } from './onboarding-service.js';
import { decodeCursor, encodeCursor, type CursorField } from './opaque-input.js';
import { IDEMPOTENCY_TTL_SECONDS, KeyAlreadyUsed } from './idempotency.js';

/** Trial state as admins see it: `ending_soon` singles out active trials ending within TRIAL_ENDING_SOON_DAYS. */
export type AdminTrialState = 'pending_verification' | 'active' | 'ending_soon' | 'expired';

/** A workspace row of the back office. */
export interface AdminWorkspaceView {
  id: string;
  name: string;
  plan: string;
  status: string;
  createdAt: Date;
  trialEndsAt: Date | null;
  trialDaysLeft: number | null;
  trialState: AdminTrialState;
  owner: { accountId: string; email: string; name: string; emailVerified: boolean } | null;
  memberCount: number;
  pendingInvitations: number;
  onboarding: { status: 'in_progress' | 'completed' | 'closed'; completedSteps: string[]; completedAt: Date | null };
  initializedAt: Date | null;
  /** The current subscription's status; null when the workspace never subscribed. */
  subscriptionStatus: string | null;
}

/** One page of a keyset-paginated list. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const DAY_MS = 86_400_000;

/**
 * How far ahead of now an admin may set or extend a trial end: 5 years (1826 days). Further is no
 * longer a trial, and unbounded it reached past year 9999, which no RFC 3339 timestamp can write.
 */
export const TRIAL_END_MAX_DAYS_AHEAD = 1826;

/** The 400 of a trial end outside (now, now + TRIAL_END_MAX_DAYS_AHEAD days], on the field that asked for it. */
function trialEndRefused(field: 'extendDays' | 'trialEndsAt', refusal: { notFuture: boolean; latest: Date }): AppError {
  if (refusal.notFuture) return new AppError('validation_failed', `${field} must be in the future.`, { fields: [{ field, message: 'must be in the future' }] });
  const latest = refusal.latest.toISOString();
  const message = field === 'extendDays' ? `would end the trial after ${latest}, the latest allowed end` : `must be no later than ${latest}, the latest allowed end`;
  return new AppError('validation_failed', `${field} ${message}: a trial ends at most ${TRIAL_END_MAX_DAYS_AHEAD} days (5 years) from now.`, { fields: [{ field, message }] });
}

/** An admin action's idempotency key, where it applies, and what was asked (a reused key must ask the same). */
interface AdminIdempotency {
  key: string;
  scope: string;
  request: unknown;
}

/** Claims the key inside the action's transaction, or throws KeyAlreadyUsed. */
type Claim = (trx: Tx) => Promise<void>;

/** The back office: reports, lists and actions for the product's admins. */
export class AdminService {
  constructor(
    private readonly deps: {
      db: Db;
      idempotency: IdempotencyRepository;
      admin: AdminRepository;
      reports: ReportRepository;
      workspaces: WorkspaceRepository;
      invitations: InvitationRepository;
      audit: AuditRepository;
      events: EventRecorder;
      onboarding: OnboardingService;
      billing: BillingRepository;
      sagas: SagaRepository;
      steps: readonly string[];
      endingSoonDays: number;
      /** PLANS, for the plan filter. */
      plans: readonly { id: string }[];
    },
  ) {}

  /**
   * Refuses a plan filter that names no plan a workspace can be on, as a schema enum would (400
   * listing PLANS), so a typo is not an empty list; a plan since removed from PLANS still filters
   * the workspaces on it.
   */
  async checkPlanFilter(plan: string | undefined): Promise<void> {
    if (plan === undefined || (await this.isFilterablePlan(plan))) return;
    throw invalidFields([{ field: 'querystring.plan', message: `must be one of: ${this.deps.plans.map((known) => JSON.stringify(known.id)).join(', ')}` }]);
  }

  /** Whether `plan` can filter the list: a configured plan, or one a workspace is still on. */
  async isFilterablePlan(plan: string): Promise<boolean> {
    return this.deps.plans.some((known) => known.id === plan) || this.deps.admin.planInUse(plan);
  }

  /** One page of workspaces matching the filter, newest first. */
  async listWorkspaces(filter: WorkspaceFilter, page: { limit: number; cursor?: string }): Promise<Page<AdminWorkspaceView>> {
    const found = await keysetPage(page, (after, limit) => this.deps.admin.listWorkspaces(filter, this.deps.endingSoonDays, after, limit));
    return { items: found.items.map((row) => this.view(row)), nextCursor: found.nextCursor };
  }

  /** Every workspace matching the filter, in pages under the hood, for CSV export. */
  async *allWorkspaces(filter: WorkspaceFilter): AsyncGenerator<AdminWorkspaceView> {
    let after: Keyset | undefined;
    for (;;) {
      const rows = await this.deps.admin.listWorkspaces(filter, this.deps.endingSoonDays, after, 500);
      for (const row of rows) yield this.view(row);
      if (rows.length < 500) return;
      const last = rows.at(-1)!;
      after = { at: last.keysetAt, id: last.id };
    }
  }

  /** A workspace with its members, pending invitations, onboarding and audit trail (newest first). */
  async workspaceDetail(workspaceId: string): Promise<{
    workspace: AdminWorkspaceView;
    members: MemberView[];
    pendingInvitations: InvitationView[];
    onboarding: Awaited<ReturnType<OnboardingService['progress']>>;
    auditEvents: AuditEventRow[];
    billing: BillingRow;
    /** Its billing sagas (subscribe, card change, paid sign-up), newest first. */
    billingSagas: SagaRow[];
  }> {
    const [row] = await this.deps.admin.listWorkspaces({ id: workspaceId }, this.deps.endingSoonDays, undefined, 1);
    if (!row) throw new AppError('not_found', 'No workspace with this id exists.');
    const invitations = await this.deps.invitations.listPending(workspaceId);
    return {
      workspace: this.view(row),
      members: await this.deps.workspaces.listMembers(workspaceId),
      pendingInvitations: invitations.map((i) => ({ id: i.id, email: i.email, role: i.role, status: i.status, expiresAt: i.expiresAt, invitedBy: { accountId: i.invitedBy, name: i.inviterName }, createdAt: i.createdAt })),
      onboarding: await this.deps.onboarding.progress(workspaceId),
      auditEvents: await this.deps.admin.listAuditEvents({ workspaceId }, undefined, 200),
      billing: await this.deps.billing.findByWorkspace(workspaceId),
      billingSagas: await this.deps.sagas.listForWorkspace(workspaceId, 20),
    };
  }

  /**
   * Extends (by days, from the later of its end and now) or sets the trial end, to an end in the
   * future and at most TRIAL_END_MAX_DAYS_AHEAD days ahead (else 400); audited with the reason.
   * With an idempotency key, a repeat (a double submit, a retry) within 24 hours changes nothing
   * and answers with the workspace as it is.
   */
  async changeTrial(workspaceId: string, actor: Actor, input: { extendDays?: number; trialEndsAt?: Date; reason: string }, idempotencyKey?: string): Promise<AdminWorkspaceView> {
    const { extendDays, trialEndsAt, reason } = input;
    if ((extendDays === undefined) === (trialEndsAt === undefined)) {
      throw new AppError('validation_failed', 'Send either extendDays or trialEndsAt.', { fields: [{ field: 'extendDays', message: 'or trialEndsAt is required, not both' }] });
    }
    const request = { extendDays: extendDays ?? null, trialEndsAt: trialEndsAt?.toISOString() ?? null, reason };
    await this.once(idempotencyKey ? { key: idempotencyKey, scope: `admin:trial:${workspaceId}`, request } : undefined, (claim) => this.deps.db.transaction().execute(async (trx) => {
      await claim(trx);
      const change = await this.deps.admin.withTx(trx).setTrialEnd(workspaceId, extendDays !== undefined ? { extendDays } : { trialEndsAt: trialEndsAt! }, TRIAL_END_MAX_DAYS_AHEAD);
      if (!change) {
        if (!(await this.deps.workspaces.withTx(trx).findById(workspaceId))) throw new AppError('not_found', 'No workspace with this id exists.');
        throw new AppError('trial_not_started', 'The trial has not started: it starts when the owner verifies their email.');
      }
      if (!change.moved) throw trialEndRefused(extendDays !== undefined ? 'extendDays' : 'trialEndsAt', change);
      await this.deps.audit.withTx(trx).insert({
        actor,
        action: 'trial.extended',
        workspaceId,
        data: { from: change.from, to: change.to, reason, ...(extendDays !== undefined ? { extendDays } : {}) },
      });
      await this.deps.events.record(trx, {
        type: 'trial.extended',
        workspaceId,
        data: { workspaceId, from: change.from.toISOString(), to: change.to.toISOString(), extendDays: extendDays ?? null, reason },
      });
    }));
    return (await this.workspaceDetail(workspaceId)).workspace;
  }

  /** Reopens a closed workspace; audited with the reason. With an idempotency key, a repeat within 24 hours is not an error. */
  async reopen(workspaceId: string, actor: Actor, reason: string, idempotencyKey?: string): Promise<AdminWorkspaceView> {
    await this.once(idempotencyKey ? { key: idempotencyKey, scope: `admin:reopen:${workspaceId}`, request: { reason } } : undefined, (claim) =>
      this.deps.onboarding.reopen(workspaceId, actor, reason, claim),
    );
    return (await this.workspaceDetail(workspaceId)).workspace;
  }

  /**
   * Runs an admin action at most once per idempotency key: `act` claims the key in its own
   * transaction, so the key commits with the change (or not at all). A concurrent repeat waits on
   * the claim until the first commits, then finds the key used and does nothing.
   */
  private async once(idempotency: AdminIdempotency | undefined, act: (claim: Claim) => Promise<void>): Promise<void> {
    if (!idempotency) return act(async () => {});
    const { key, scope } = idempotency;
    const requestHash = createHash('sha256').update(JSON.stringify(idempotency.request)).digest();
    if (await this.alreadyDone(scope, key, requestHash)) return;
    try {
      await act(async (trx) => {
        if (!(await this.deps.idempotency.withTx(trx).claim(scope, key, requestHash, IDEMPOTENCY_TTL_SECONDS))) throw new KeyAlreadyUsed();
      });
    } catch (error) {
      if (!(error instanceof KeyAlreadyUsed) || !(await this.alreadyDone(scope, key, requestHash))) throw error;
    }
  }

  /** Whether the key was used for this very request; a different request under the same key is refused. */
  private async alreadyDone(scope: string, key: string, requestHash: Buffer): Promise<boolean> {
    const record = await this.deps.idempotency.find(scope, key, IDEMPOTENCY_TTL_SECONDS);
    if (!record) return false;
    if (!record.requestHash.equals(requestHash)) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
    }
    return true;
  }

  /** Dashboard counts and the daily series of the last 30 days. */
  stats(): Promise<StatsRow> {
    return this.deps.admin.stats(this.deps.endingSoonDays, 30);
  }

  /** One page of the audit log, newest first. */
  async auditEvents(filter: AuditFilter, page: { limit: number; cursor?: string }): Promise<Page<AuditEventRow>> {
    return keysetPage(page, (after, limit) => this.deps.admin.listAuditEvents(filter, after, limit));
  }

  /** The onboarding funnel of workspaces created in [from, to); defaults to the last 30 days. */
  async funnel(range: { from?: Date; to?: Date }): Promise<FunnelRow & { from: Date; to: Date }> {
    const { from, to } = reportRange(range);
    return { from, to, ...(await this.deps.reports.funnel(from, to, this.deps.steps)) };
  }

  private view(row: AdminWorkspaceRow): AdminWorkspaceView {
    const now = Date.now();
    const ends = row.trialEndsAt?.getTime();
    const trialState: AdminTrialState =
      ends === undefined ? 'pending_verification' : ends <= now ? 'expired' : ends - now <= this.deps.endingSoonDays * DAY_MS ? 'ending_soon' : 'active';
    return {
      id: row.id,
      name: row.name,
      plan: row.plan,
      status: row.status,
      createdAt: row.createdAt,
      trialEndsAt: row.trialEndsAt,
      trialDaysLeft: ends === undefined ? null : Math.max(0, Math.ceil((ends - now) / DAY_MS)),
      trialState,
      owner: row.ownerAccountId
        ? { accountId: row.ownerAccountId, email: row.ownerEmail!, name: row.ownerName!, emailVerified: row.ownerVerifiedAt !== null }
        : null,
      memberCount: row.memberCount,
      pendingInvitations: row.pendingInvitations,
      onboarding: {
        status: row.status === 'closed' ? 'closed' : row.completedAt ? 'completed' : 'in_progress',
        completedSteps: row.completedSteps,
        completedAt: row.completedAt,
      },
      initializedAt: row.initializedAt,
      subscriptionStatus: row.subscriptionStatus,
    };
  }
}

const KEYSET: readonly CursorField[] = ['timestamp', 'uuid'];

/**
 * One keyset page: fetches one row more than `limit` after the cursor's position, so the cursor of
 * the next page exists only when there is one.
 */
export async function keysetPage<T extends { keysetAt: string; id: string }>(
  page: { limit: number; cursor?: string },
  fetch: (after: Keyset | undefined, limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const rows = await fetch(keysetOf(page.cursor), page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? cursorOf({ at: last.keysetAt, id: last.id }) : null };
}

/** A report's time range [from, to): the last 30 days unless given; 400 when from is not before to. */
export function reportRange(range: { from?: Date; to?: Date }): { from: Date; to: Date } {
  const to = range.to ?? new Date();
  const from = range.from ?? new Date(to.getTime() - 30 * DAY_MS);
  return orderedRange({ from, to });
}

/**
 * A time range [from, to) as given (either end may be open); 400 naming the start field when both
 * are given and from is not before to, a range nothing can fall in. `names` are the fields as the
 * caller's query spells them (createdFrom, createdTo).
 */
export function orderedRange<R extends { from?: Date; to?: Date }>(range: R, names: { from: string; to: string } = { from: 'from', to: 'to' }): R {
  if (range.from && range.to && range.from >= range.to) {
    throw new AppError('validation_failed', `\`${names.from}\` must be before \`${names.to}\`.`, { fields: [{ field: names.from, message: `must be before ${names.to}` }] });
  }
  return range;
}

/** The keyset a page's cursor names: the last row's exact created_at text and id. */
export function keysetOf(cursor: string | undefined): Keyset | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = decodeCursor(cursor, KEYSET) as [string, string];
  return { at, id };
}

/** The opaque cursor of a keyset position. */
export const cursorOf = (keyset: Keyset) => encodeCursor([keyset.at, keyset.id]);
