import { createHash, randomUUID } from 'node:crypto';
import { isFreePlan, type Plan } from '../config.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { IdempotencyRepository } from '../repositories/idempotency-repository.js';
import { enqueueJob } from '../repositories/job-queue.js';
import type { NewWorkspaceRepository } from '../repositories/new-workspace-repository.js';
import { toWorkspaceView, type MembershipView } from './views.js';
import type { EventRecorder } from './events/event-recorder.js';
import { IDEMPOTENCY_TTL_SECONDS, KeyAlreadyUsed } from './idempotency.js';


/** The plan a workspace gets without choosing: the first free plan on offer. */
export function defaultPlan(plans: readonly Plan[]): Plan {
  const free = plans.find(isFreePlan);
  if (!free) throw new AppError('internal_error', 'No free plan is configured (PLANS).');
  return free;
}

/**
 * A signed-in account starts a workspace of its own (a teammate who joined by invitation, say): one
 * transaction for workspace, owner membership, onboarding progress, audit events and the
 * initialisation job. The trial starts now when the account is verified, else at verification.
 */
export class WorkspaceCreationService {
  constructor(
    private readonly deps: { db: Db; accounts: AccountRepository; newWorkspaces: NewWorkspaceRepository; idempotency: IdempotencyRepository; events: EventRecorder; plans: readonly Plan[] },
  ) {}

  /** Creates the workspace; with an idempotency key (per account), a retry within 24 hours gets the first answer. */
  async create(accountId: string, name: string, idempotencyKey?: string): Promise<MembershipView> {
    const scope = `workspace:${accountId}`;
    const requestHash = createHash('sha256').update(JSON.stringify([name])).digest();
    if (idempotencyKey) {
      const replay = await this.replay(scope, idempotencyKey, requestHash);
      if (replay) return replay;
    }
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        if (idempotencyKey && !(await this.deps.idempotency.withTx(trx).claim(scope, idempotencyKey, requestHash, IDEMPOTENCY_TTL_SECONDS))) {
          throw new KeyAlreadyUsed();
        }
        // The lock orders this against a concurrent verification, which starts the trials of the workspaces it sees.
        const account = await this.deps.accounts.withTx(trx).lockById(accountId);
        if (!account) throw new AppError('unauthenticated', 'Sign in to continue.');
        const plan = defaultPlan(this.deps.plans);
        const row = await this.deps.newWorkspaces.withTx(trx).insertOwned({
          workspaceId: randomUUID(),
          accountId,
          name,
          plan: plan.id,
          trialDays: account.emailVerifiedAt ? plan.trialDays : null,
        });
        await enqueueJob(trx, 'initialize_workspace', { workspaceId: row.id });
        await this.deps.events.record(
          trx,
          { type: 'workspace.created', workspaceId: row.id, data: { workspaceId: row.id, name: row.name, plan: row.plan, ownerAccountId: accountId } },
          ...(row.trialEndsAt ? [{ type: 'trial.started' as const, workspaceId: row.id, data: { workspaceId: row.id, trialEndsAt: new Date(row.trialEndsAt).toISOString() } }] : []),
        );
        const view: MembershipView = { ...toWorkspaceView(row), role: 'owner' };
        if (idempotencyKey) await this.deps.idempotency.withTx(trx).saveResponse(scope, idempotencyKey, accountId, view);
        return view;
      });
    } catch (error) {
      if (!(error instanceof KeyAlreadyUsed) || !idempotencyKey) throw error;
      const replay = await this.replay(scope, idempotencyKey, requestHash);
      if (!replay) throw error;
      return replay;
    }
  }

  private async replay(scope: string, key: string, requestHash: Buffer): Promise<MembershipView | undefined> {
    const record = await this.deps.idempotency.find(scope, key, IDEMPOTENCY_TTL_SECONDS);
    if (!record || record.response === null) return undefined;
    if (!record.requestHash.equals(requestHash)) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
    }
    const view = record.response as MembershipView & { trialEndsAt: string | null; initializedAt: string | null; createdAt: string };
    return {
      ...view,
      trialEndsAt: view.trialEndsAt === null ? null : new Date(view.trialEndsAt),
      initializedAt: view.initializedAt === null ? null : new Date(view.initializedAt),
      createdAt: new Date(view.createdAt),
    };
  }
}
