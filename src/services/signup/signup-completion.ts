import type { Plan } from '../../config.js';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { AccountRepository } from '../../repositories/account-repository.js';
import type { AuditRepository } from '../../repositories/audit-repository.js';
import { enqueueJob } from '../../repositories/job-queue.js';
import type { OnboardingRepository } from '../../repositories/onboarding-repository.js';
import type { ProfileRepository } from '../../repositories/signup/profile-repository.js';
import type { FlowRow, SignupFlowRepository } from '../../repositories/signup/signup-flow-repository.js';
import type { WorkspaceRepository } from '../../repositories/workspace-repository.js';
import { toAccountView, toWorkspaceView, type AccountView, type WorkspaceView } from '../views.js';
import { flowProgress, type FlowProgress } from './signup-fields.js';
import type { EventRecorder } from '../events/event-recorder.js';

/** What a completed flow became. */
export interface CompletedSignup {
  account: AccountView;
  workspace: WorkspaceView;
}

/** The one error for a flow that is not ready to complete, listing what is missing. */
export function signupIncomplete(progress: Pick<FlowProgress, 'missingFields' | 'unverifiedFields'>): AppError {
  const { missingFields, unverifiedFields } = progress;
  const parts = [
    ...(missingFields.length > 0 ? [`fill in ${missingFields.join(', ')}`] : []),
    ...(unverifiedFields.length > 0 ? [`verify ${unverifiedFields.join(', ')}`] : []),
  ];
  return new AppError('signup_incomplete', `The sign-up is not complete yet: ${parts.join('; ')}.`, { extra: { missingFields, unverifiedFields } });
}

/**
 * The local commit of a staged sign-up: the pivot step the billing saga calls once the payment
 * method is on file. Everything it writes goes through the caller's transaction.
 */
export class SignupCompletion {
  constructor(
    private readonly deps: {
      accounts: AccountRepository;
      workspaces: WorkspaceRepository;
      onboarding: OnboardingRepository;
      profiles: ProfileRepository;
      flows: SignupFlowRepository;
      audit: AuditRepository;
      events: EventRecorder;
      plans: readonly Plan[];
    },
  ) {}

  /**
   * Turns `flow` (locked by the caller in `trx`, open, not completed) into the account (verified at
   * the time its code was verified), its profile, the workspace (named after the company, on the
   * flow's plan, its trial starting now), the owner membership, onboarding progress, audit events
   * and the workspace-initialisation job, and marks the flow completed with what it became, revoking
   * its cookies (the completing one, `completingTokenHash`, may replay the completion briefly).
   *
   * Throws 422 `signup_incomplete` when anything is missing or unverified (a plan that requires a
   * payment method needs the flow's `paymentMethod` section). Throws 409 `email_taken`
   * when the address was registered meanwhile. A throw rolls back everything `trx` holds.
   */
  async commit(trx: Tx, flow: FlowRow, options: { completingTokenHash?: Buffer | null } = {}): Promise<CompletedSignup> {
    const progress = flowProgress(flow, this.deps.plans);
    if (progress.missingFields.length > 0 || progress.unverifiedFields.length > 0) throw signupIncomplete(progress);
    const { profile, company, address } = flow.data;
    const plan = progress.plan!;
    const accountRow = await this.deps.accounts.withTx(trx).insert({
      email: flow.email!,
      name: `${profile!.firstName} ${profile!.lastName}`,
      passwordHash: flow.passwordHash!,
      verifiedAt: flow.emailVerifiedAt!,
    });
    const accountId = accountRow.id;
    await this.deps.profiles.withTx(trx).insert({ accountId, firstName: profile!.firstName, lastName: profile!.lastName, companyName: company!.name, address: address! });
    const workspaces = this.deps.workspaces.withTx(trx);
    const created = await workspaces.insert(company!.name, plan.id);
    await workspaces.insertMember({ workspaceId: created.id, accountId, role: 'owner' });
    await this.deps.onboarding.withTx(trx).insert(created.id);
    // The trial rule of every sign-up: it starts when the owner's address is verified, which it is.
    const started = await workspaces.startTrialsOwnedBy(accountId, plan.trialDays);
    const actor = { type: 'account', id: accountId } as const;
    await this.deps.audit.withTx(trx).insert(
      { actor, action: 'account.registered', workspaceId: created.id, accountId, data: { email: flow.email, workspaceName: created.name, via: 'signup_flow', flowId: flow.id } },
      { actor, action: 'account.email_verified', accountId },
      ...started.map((ws) => ({ actor, action: 'trial.started', workspaceId: ws.id, accountId, data: { trialEndsAt: ws.trialEndsAt, plan: plan.id } })),
    );
    await enqueueJob(trx, 'initialize_workspace', { workspaceId: created.id });
    await this.deps.events.record(
      trx,
      { type: 'account.registered', workspaceId: created.id, data: { accountId, email: accountRow.email, name: accountRow.name, emailVerified: true, via: 'signup_flow' } },
      { type: 'workspace.created', workspaceId: created.id, data: { workspaceId: created.id, name: created.name, plan: plan.id, ownerAccountId: accountId } },
      ...started.map((ws) => ({ type: 'trial.started' as const, workspaceId: ws.id, data: { workspaceId: ws.id, trialEndsAt: new Date(ws.trialEndsAt!).toISOString() } })),
    );
    await this.deps.flows.withTx(trx).markCompleted(flow.id, { accountId, workspaceId: created.id }, options.completingTokenHash ?? null);
    const workspace = (await workspaces.findById(created.id))!;
    return { account: toAccountView(accountRow), workspace: toWorkspaceView(workspace) };
  }

  /** What an already completed flow became, for a replayed completion. */
  async became(trx: Tx, flow: FlowRow): Promise<CompletedSignup | undefined> {
    if (!flow.accountId || !flow.workspaceId) return undefined;
    const account = await this.deps.accounts.withTx(trx).findById(flow.accountId);
    const workspace = await this.deps.workspaces.withTx(trx).findById(flow.workspaceId);
    return account && workspace ? { account: toAccountView(account), workspace: toWorkspaceView(workspace) } : undefined;
  }
}
