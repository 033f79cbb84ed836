import { sql } from 'kysely';
import type { WorkspaceStatus } from '../db/schema.js';
import { Repository } from './repository.js';

/** A workspace's onboarding progress with the workspace status it depends on. */
export interface ProgressRow {
  workspaceId: string;
  workspaceStatus: WorkspaceStatus;
  completedSteps: string[];
  stepCompletedAt: Record<string, string>;
  currentStep: string | null;
  data: Record<string, unknown>;
  version: number;
  completedAt: Date | null;
  updatedAt: Date;
}

/** One auto-save: the draft, and the version it was based on. */
export interface DraftSave {
  workspaceId: string;
  accountId: string;
  version: number;
  data: Record<string, unknown>;
  currentStep?: string;
}

/** What a save that applied answers. */
export interface SavedDraft {
  version: number;
  updatedAt: Date;
}

/** Where a workspace's onboarding stands, as the status check reports it. */
export interface StatusRow {
  id: string;
  status: 'in_progress' | 'completed' | 'closed';
}

/** What changed: statuses of workspaces, or which workspaces accounts belong to. */
export interface StatusChange {
  workspaceIds?: string[];
  accountIds?: string[];
}

/** The channel on which every instance hears that onboarding statuses changed. */
export const STATUS_CHANNEL = 'onboarding_status';

const progressColumns = [
  'p.workspace_id as workspaceId',
  'w.status as workspaceStatus',
  'p.completed_steps as completedSteps',
  'p.step_completed_at as stepCompletedAt',
  'p.current_step as currentStep',
  'p.data',
  'p.version',
  'p.completed_at as completedAt',
  'p.updated_at as updatedAt',
] as const;

/** SQL for onboarding_progress. */
export class OnboardingRepository extends Repository {
  /** The empty progress of a new workspace. */
  async insert(workspaceId: string): Promise<void> {
    await this.db.insertInto('onboarding_progress').values({ workspace_id: workspaceId }).execute();
  }

  async find(workspaceId: string): Promise<ProgressRow | undefined> {
    return this.db
      .selectFrom('onboarding_progress as p')
      .innerJoin('workspaces as w', 'w.id', 'p.workspace_id')
      .select(progressColumns)
      .where('p.workspace_id', '=', workspaceId)
      .executeTakeFirst();
  }

  /** Locks the progress row for the rest of the transaction; closed workspaces included. */
  async lock(workspaceId: string): Promise<ProgressRow | undefined> {
    return this.db
      .selectFrom('onboarding_progress as p')
      .innerJoin('workspaces as w', 'w.id', 'p.workspace_id')
      .select(progressColumns)
      .where('p.workspace_id', '=', workspaceId)
      .forUpdate('p')
      .executeTakeFirst();
  }

  /** Adds a step once, keeping its first completion time; false when it was already done. */
  async addStep(workspaceId: string, step: string): Promise<boolean> {
    const result = await this.db
      .updateTable('onboarding_progress')
      .set({
        completed_steps: sql`array_append(completed_steps, ${step}::text)`,
        step_completed_at: sql`step_completed_at || jsonb_build_object(${step}::text, now())`,
        updated_at: sql`now()`,
      })
      .where('workspace_id', '=', workspaceId)
      .where(sql<boolean>`not (${step}::text = any(completed_steps))`)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Removes a step; false when it was not done. */
  async removeStep(workspaceId: string, step: string): Promise<boolean> {
    const result = await this.db
      .updateTable('onboarding_progress')
      .set({
        completed_steps: sql`array_remove(completed_steps, ${step}::text)`,
        step_completed_at: sql`step_completed_at - ${step}::text`,
        updated_at: sql`now()`,
      })
      .where('workspace_id', '=', workspaceId)
      .where(sql<boolean>`${step}::text = any(completed_steps)`)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Sets completed_at once, when every required step is done; true only for the call that set it. */
  async completeIfDone(workspaceId: string, requiredSteps: readonly string[]): Promise<boolean> {
    const result = await this.db
      .updateTable('onboarding_progress')
      .set({ completed_at: sql`now()`, updated_at: sql`now()` })
      .where('workspace_id', '=', workspaceId)
      .where('completed_at', 'is', null)
      .where(sql<boolean>`completed_steps @> ${sql.val([...requiredSteps])}::text[]`)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Auto-save with optimistic locking: one UPDATE that applies only at the expected version, to an
   * active workspace the account is a member of. Undefined means a stale version, a closed
   * workspace, no membership or no such progress (the caller tells which apart on that rare path).
   */
  async saveDraft(save: DraftSave): Promise<SavedDraft | undefined> {
    return this.db
      .updateTable('onboarding_progress as p')
      .from(['workspaces as w', 'workspace_members as m'])
      .set({
        data: JSON.stringify(save.data),
        ...(save.currentStep !== undefined ? { current_step: save.currentStep } : {}),
        version: sql`p.version + 1`,
        updated_at: sql`now()`,
      })
      .whereRef('w.id', '=', 'p.workspace_id')
      .whereRef('m.workspace_id', '=', 'p.workspace_id')
      .where('m.account_id', '=', save.accountId)
      .where('p.workspace_id', '=', save.workspaceId)
      .where('p.version', '=', save.version)
      .where('w.status', '=', 'active')
      .returning(['p.version', 'p.updated_at as updatedAt'])
      .executeTakeFirst();
  }

  /**
   * Several auto-saves in ONE statement, each as saveDraft would do it alone. Rows another
   * transaction holds are skipped, not waited for, and answered 'locked', so one busy workspace
   * never holds up the others (nor can two instances' batches deadlock).
   *
   * Saves of one workspace carrying the same version behave as if run one after another: the row is
   * updated once, by one of them, and the others find the version moved on. (Carrying a version that
   * another save of the same batch will produce is impossible: it is only known from that save's answer.)
   */
  async saveDrafts(saves: DraftSave[]): Promise<(SavedDraft | 'locked' | undefined)[]> {
    const { rows } = await sql<{ index: number; version: number; updatedAt: Date; locked: boolean }>`
      with input as materialized (
        select * from unnest(${saves.map((_, i) => i)}::int[], ${saves.map((s) => s.workspaceId)}::uuid[], ${saves.map((s) => s.accountId)}::uuid[],
                             ${saves.map((s) => s.version)}::int[], ${saves.map((s) => JSON.stringify(s.data))}::jsonb[], ${saves.map((s) => s.currentStep ?? null)}::text[])
          as t(index, workspace_id, account_id, version, data, current_step)
      ), lockable as materialized (
        select workspace_id from onboarding_progress where workspace_id in (select workspace_id from input) for update skip locked
      ), saved as (
        update onboarding_progress as p
        set data = t.data, current_step = coalesce(t.current_step, p.current_step), version = p.version + 1, updated_at = now()
        from input as t, workspaces as w
        where p.workspace_id = t.workspace_id and p.workspace_id in (select workspace_id from lockable)
          and p.version = t.version and w.id = p.workspace_id and w.status = 'active'
          and exists (select from workspace_members as m where m.workspace_id = t.workspace_id and m.account_id = t.account_id)
        returning t.index, p.version, p.updated_at
      )
      select index, version, updated_at as "updatedAt", false as locked from saved
      union all
      select index, null, null, true from input as t
      where t.workspace_id not in (select workspace_id from lockable)
        and exists (select from onboarding_progress as p where p.workspace_id = t.workspace_id)`.execute(this.db);
    const byIndex = new Map(rows.map(({ index, locked, ...saved }) => [index, locked ? ('locked' as const) : saved]));
    return saves.map((_, i) => byIndex.get(i));
  }

  /** Onboarding status of every workspace the account belongs to. */
  async statusesForAccount(accountId: string): Promise<StatusRow[]> {
    return this.db
      .selectFrom('workspace_members as m')
      .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
      .innerJoin('onboarding_progress as p', 'p.workspace_id', 'w.id')
      .select([
        'w.id',
        sql<StatusRow['status']>`case when w.status = 'closed' then 'closed' when p.completed_at is not null then 'completed' else 'in_progress' end`.as('status'),
      ])
      .where('m.account_id', '=', accountId)
      .orderBy('m.joined_at')
      .orderBy('w.id')
      .execute();
  }

  /** Tells every instance (on commit) that these workspaces' statuses, or these accounts' lists, changed. */
  async notifyStatusChanged(change: StatusChange): Promise<void> {
    if (!change.workspaceIds?.length && !change.accountIds?.length) return;
    await sql`select pg_notify(${STATUS_CHANNEL}, ${JSON.stringify(change)})`.execute(this.db);
  }
}
