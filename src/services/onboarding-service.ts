import type { Db, Tx } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Actor, AuditRepository } from '../repositories/audit-repository.js';
import { enqueueJob } from '../repositories/job-queue.js';
import type { DraftSave, OnboardingRepository, ProgressRow } from '../repositories/onboarding-repository.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { NewEvent } from './events/catalogue.js';
import type { EventRecorder } from './events/event-recorder.js';
import { GroupCommit } from './group-commit.js';
import type { CachedStatus, StatusCache } from './status-cache.js';
import type { WorkspaceService } from './workspace-service.js';

/** Onboarding as the setup wizard sees it: enough to resume exactly where the user left off. */
export interface OnboardingView {
  status: 'in_progress' | 'completed' | 'closed';
  steps: { key: string; completed: boolean; completedAt: string | null }[];
  completedAt: Date | null;
  currentStep: string | null;
  data: Record<string, unknown>;
  version: number;
  updatedAt: Date;
}

/** The largest draft `data` accepted, as serialized JSON. */
export const MAX_DRAFT_BYTES = 32 * 1024;

const workspaceClosed = () => new AppError('workspace_closed', 'This workspace is closed, so its onboarding cannot change. An admin can reopen it.');

/** Resumable onboarding: idempotent steps, optimistic auto-save, completion once, cheap status. */
export class OnboardingService {
  /** Auto-saves are the hottest write: concurrent ones share one statement. */
  private readonly draftSaves = new GroupCommit((saves: DraftSave[]) => this.deps.onboarding.saveDrafts(saves));

  constructor(
    private readonly deps: {
      db: Db;
      onboarding: OnboardingRepository;
      workspaces: WorkspaceRepository;
      audit: AuditRepository;
      events: EventRecorder;
      access: WorkspaceService;
      cache: StatusCache;
      steps: readonly string[];
      abandonedAfterDays: number;
    },
  ) {}

  /** The resume call: everything the wizard needs, for members. */
  async get(workspaceId: string, accountId: string): Promise<OnboardingView> {
    await this.deps.access.getForMember(workspaceId, accountId);
    return this.progress(workspaceId);
  }

  /** The progress of a workspace, without a membership check: for admins and after checks. */
  async progress(workspaceId: string): Promise<OnboardingView> {
    return this.view((await this.deps.onboarding.find(workspaceId))!);
  }

  /** Marks a step done, once; completing the last required step completes onboarding in the same transaction. */
  async completeStep(workspaceId: string, accountId: string, step: string): Promise<OnboardingView> {
    this.assertKnownStep(step);
    await this.deps.access.getForMember(workspaceId, accountId);
    const actor: Actor = { type: 'account', id: accountId };
    const completedNow = await this.writeProgress(workspaceId, async (trx) => {
      const added = await this.addStep(trx, workspaceId, step, actor, null);
      const completion = await this.completeIfDone(trx, workspaceId, actor);
      await this.deps.events.record(trx, ...added, ...completion);
      return completion.length > 0;
    });
    if (completedNow) this.deps.cache.invalidate({ workspaceIds: [workspaceId] });
    return this.get(workspaceId, accountId);
  }

  /** Un-marks a step while onboarding is not completed. */
  async uncompleteStep(workspaceId: string, accountId: string, step: string): Promise<OnboardingView> {
    this.assertKnownStep(step);
    await this.deps.access.getForMember(workspaceId, accountId);
    await this.writeProgress(workspaceId, async (trx, progress) => {
      if (progress.completedAt) throw new AppError('onboarding_completed', 'Onboarding is already complete; its steps can no longer be undone.');
      await this.deps.onboarding.withTx(trx).removeStep(workspaceId, step);
      return false;
    });
    return this.get(workspaceId, accountId);
  }

  /** Completes onboarding when every required step is done (idempotent); otherwise lists what is missing. */
  async complete(workspaceId: string, accountId: string): Promise<OnboardingView> {
    await this.deps.access.getForMember(workspaceId, accountId);
    const completedNow = await this.writeProgress(workspaceId, async (trx, progress) => {
      const missingSteps = this.deps.steps.filter((step) => !progress.completedSteps.includes(step));
      if (missingSteps.length > 0) {
        throw new AppError('steps_incomplete', `Finish these steps first: ${missingSteps.join(', ')}.`, { extra: { missingSteps } });
      }
      const completion = await this.completeIfDone(trx, workspaceId, { type: 'account', id: accountId });
      await this.deps.events.record(trx, ...completion);
      return completion.length > 0;
    });
    if (completedNow) this.deps.cache.invalidate({ workspaceIds: [workspaceId] });
    return this.get(workspaceId, accountId);
  }

  /**
   * Auto-save with optimistic locking: applies only at the version the caller last saw. A stale
   * version answers 409 with what is stored now, so the frontend can show what changed.
   */
  async saveDraft(workspaceId: string, accountId: string, input: { data: Record<string, unknown>; currentStep?: string; version: number }): Promise<{ version: number; updatedAt: Date }> {
    if (Buffer.byteLength(JSON.stringify(input.data)) > MAX_DRAFT_BYTES) {
      throw new AppError('validation_failed', 'The draft is too large: data may be at most 32 KiB of JSON.', { fields: [{ field: 'data', message: 'must be at most 32 KiB' }] });
    }
    if (input.currentStep !== undefined && !this.deps.steps.includes(input.currentStep)) {
      throw new AppError('validation_failed', `currentStep must be one of: ${this.deps.steps.join(', ')}.`, { fields: [{ field: 'currentStep', message: 'is not a known step' }] });
    }
    // The membership check is part of the one UPDATE; only a refused save looks closer.
    const save = { workspaceId, accountId, ...input };
    const batched = await this.draftSaves.submit(save);
    // A row another transaction holds was skipped by the batch; this save waits for it alone.
    const saved = batched === 'locked' ? await this.deps.onboarding.saveDraft(save) : batched;
    return saved ?? this.refuseDraft(workspaceId, accountId);
  }

  /** Why a save was refused: not a member (404), a closed workspace, or a stale version with what is stored now. */
  private async refuseDraft(workspaceId: string, accountId: string): Promise<never> {
    await this.deps.access.getForMember(workspaceId, accountId);
    const current = (await this.deps.onboarding.find(workspaceId))!;
    if (current.workspaceStatus === 'closed') throw workspaceClosed();
    throw new AppError('version_conflict', 'Someone saved a newer version meanwhile. Review it and save again on top of it.', {
      extra: { current: { version: current.version, data: current.data, updatedAt: current.updatedAt.toISOString(), currentStep: current.currentStep } },
    });
  }

  /** The navigation check: each workspace's onboarding status, from the in-process cache when fresh. */
  async statuses(accountId: string): Promise<CachedStatus> {
    return this.deps.cache.get(accountId) ?? this.deps.cache.set(accountId, await this.deps.onboarding.statusesForAccount(accountId));
  }

  /** Closes abandoned workspaces in batches (idempotent, safe to run twice at once); returns how many closed. */
  async closeAbandoned(afterDays = this.deps.abandonedAfterDays, batchSize = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const closed = await this.deps.db.transaction().execute(async (trx) => {
        const ids = await this.deps.workspaces.withTx(trx).closeAbandoned(afterDays, batchSize);
        await this.deps.onboarding.withTx(trx).notifyStatusChanged({ workspaceIds: ids });
        await this.deps.events.record(trx, ...ids.map((id) => ({ type: 'workspace.closed' as const, workspaceId: id, data: { workspaceId: id, reason: 'onboarding_abandoned' as const, afterDays } })));
        return ids;
      });
      this.deps.cache.invalidate({ workspaceIds: closed });
      total += closed.length;
      if (closed.length < batchSize) return total;
    }
  }

  /** Reopens a closed workspace, audited with the actor and reason. */
  async reopen(workspaceId: string, actor: Actor, reason: string, claim?: (trx: Tx) => Promise<void>): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      // The caller's idempotency claim commits (or rolls back) with the reopening.
      await claim?.(trx);
      const workspaces = this.deps.workspaces.withTx(trx);
      if (!(await workspaces.lock(workspaceId))) throw new AppError('not_found', 'No workspace with this id exists.');
      if (!(await workspaces.reopen(workspaceId))) throw new AppError('workspace_not_closed', 'This workspace is not closed.');
      await this.deps.audit.withTx(trx).insert({ actor, action: 'workspace.reopened', workspaceId, data: { reason } });
      await this.deps.events.record(trx, { type: 'workspace.reopened', workspaceId, data: { workspaceId, reason } });
      await this.deps.onboarding.withTx(trx).notifyStatusChanged({ workspaceIds: [workspaceId] });
    });
    this.deps.cache.invalidate({ workspaceIds: [workspaceId] });
  }

  /** Runs an onboarding write with the progress row locked; closed workspaces refuse it. */
  private async writeProgress<T>(workspaceId: string, write: (trx: Tx, progress: ProgressRow) => Promise<T>): Promise<T> {
    return this.deps.db.transaction().execute(async (trx) => {
      const progress = await this.deps.onboarding.withTx(trx).lock(workspaceId);
      if (!progress) throw new AppError('not_found', 'This workspace has no onboarding.');
      if (progress.workspaceStatus === 'closed') throw workspaceClosed();
      return write(trx, progress);
    });
  }

  /**
   * Completes `step` because `event` proves it (ONBOARDING_STEP_EVENTS), in the event's transaction,
   * with the once-only rules of the API: nothing when the step is done or the workspace closed.
   * Returns the events to record after the one that proved it.
   */
  async completeStepByEvent(trx: Tx, event: NewEvent, step: string): Promise<NewEvent[]> {
    if (!event.workspaceId || !this.deps.steps.includes(step)) return [];
    const progress = await this.deps.onboarding.withTx(trx).lock(event.workspaceId);
    if (!progress || progress.workspaceStatus === 'closed' || progress.completedSteps.includes(step)) return [];
    const actor: Actor = { type: 'system', id: null };
    const added = await this.addStep(trx, event.workspaceId, step, actor, event.type);
    return [...added, ...(await this.completeIfDone(trx, event.workspaceId, actor))];
  }

  /** Adds a step once (the progress row locked), audited; returns its event, or none when it was done. */
  private async addStep(trx: Tx, workspaceId: string, step: string, actor: Actor, byEvent: string | null): Promise<NewEvent[]> {
    if (!(await this.deps.onboarding.withTx(trx).addStep(workspaceId, step))) return [];
    const accountId = actor.type === 'account' ? actor.id : null;
    await this.deps.audit.withTx(trx).insert({ actor, action: 'onboarding.step_completed', workspaceId, accountId, data: { step, ...(byEvent ? { byEvent } : {}) } });
    return [{ type: 'onboarding.step_completed', workspaceId, data: { step, accountId, byEvent } }];
  }

  /**
   * Sets completed_at once; the one transaction that does enqueues the job, audits and notifies.
   * Returns the onboarding.completed event to record, or none.
   */
  private async completeIfDone(trx: Tx, workspaceId: string, actor: Actor): Promise<NewEvent[]> {
    if (!(await this.deps.onboarding.withTx(trx).completeIfDone(workspaceId, this.deps.steps))) return [];
    const accountId = actor.type === 'account' ? actor.id : null;
    await enqueueJob(trx, 'onboarding_completed', { workspaceId }, { jobKey: `onboarding-completed:${workspaceId}` });
    await this.deps.audit.withTx(trx).insert({ actor, action: 'onboarding.completed', workspaceId, accountId });
    await this.deps.onboarding.withTx(trx).notifyStatusChanged({ workspaceIds: [workspaceId] });
    return [{ type: 'onboarding.completed', workspaceId, data: { workspaceId, accountId } }];
  }

  private assertKnownStep(step: string): void {
    if (!this.deps.steps.includes(step)) {
      throw new AppError('unknown_step', `There is no onboarding step "${step}". Steps: ${this.deps.steps.join(', ')}.`);
    }
  }

  private view(progress: ProgressRow): OnboardingView {
    const status = progress.workspaceStatus === 'closed' ? 'closed' : progress.completedAt ? 'completed' : 'in_progress';
    return {
      status,
      steps: this.deps.steps.map((key) => ({ key, completed: progress.completedSteps.includes(key), completedAt: progress.stepCompletedAt[key] ?? null })),
      completedAt: progress.completedAt,
      currentStep: progress.currentStep,
      data: progress.data,
      version: progress.version,
      updatedAt: progress.updatedAt,
    };
  }
}
