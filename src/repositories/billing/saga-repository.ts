import { sql } from 'kysely';
import type { SagaKind, SagaState, SagaStepStatus } from '../../db/schema.js';
import { Repository } from '../repository.js';

/** A saga as stored. */
export interface SagaRow {
  id: string;
  kind: SagaKind;
  subjectId: string;
  workspaceId: string | null;
  input: Record<string, unknown>;
  state: SagaState;
  compensating: boolean;
  attempts: number;
  lastError: string | null;
  outcome: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One entry of the step journal. */
export interface StepRow {
  step: string;
  idempotencyKey: string;
  objectId: string | null;
  data: Record<string, unknown>;
  status: SagaStepStatus;
}

const sagaColumns = [
  'id',
  'kind',
  'subject_id as subjectId',
  'workspace_id as workspaceId',
  'input',
  'state',
  'compensating',
  'attempts',
  'last_error as lastError',
  'outcome',
  'created_at as createdAt',
  'updated_at as updatedAt',
] as const;

const ACTIVE: SagaState[] = ['running', 'requires_action', 'pivoted'];

/** SQL for billing_sagas and their step journal. Every write moves updated_at: the saga's heartbeat. */
export class SagaRepository extends Repository {
  /** Starts a saga unless one is active for the subject; then answers that one (five requests, one saga). */
  async startOrJoin(input: { kind: SagaKind; subjectId: string; workspaceId: string | null; input: Record<string, unknown> }): Promise<SagaRow> {
    const inserted = await this.db
      .insertInto('billing_sagas')
      .values({ kind: input.kind, subject_id: input.subjectId, workspace_id: input.workspaceId, input: JSON.stringify(input.input) })
      // The index predicate as literals: a parameter would stop a generic plan from inferring the partial index.
      .onConflict((oc) => oc.columns(['kind', 'subject_id']).where(sql<boolean>`state in ('running', 'requires_action', 'pivoted')`).doNothing())
      .returning(sagaColumns)
      .executeTakeFirst();
    if (inserted) return inserted;
    const active = await this.findActive(input.kind, input.subjectId);
    // It finished between the insert and the read: start again.
    return active ?? this.startOrJoin(input);
  }

  async findActive(kind: SagaKind, subjectId: string): Promise<SagaRow | undefined> {
    return this.db.selectFrom('billing_sagas').select(sagaColumns).where('kind', '=', kind).where('subject_id', '=', subjectId).where('state', 'in', ACTIVE).executeTakeFirst();
  }

  /** The active saga of a workspace (upgrade or card change) waiting for this SetupIntent's 3-D Secure. */
  async findWaitingFor(setupIntentId: string): Promise<SagaRow | undefined> {
    return this.db
      .selectFrom('billing_sagas as s')
      .innerJoin('billing_saga_steps as st', 'st.saga_id', 's.id')
      .select(sagaColumns.map((column) => `s.${column}` as const))
      .where('st.gateway_object_id', '=', setupIntentId)
      .where('st.status', '=', 'requires_action')
      .where('s.state', '=', 'requires_action')
      .where('s.kind', '<>', 'signup')
      .executeTakeFirst();
  }

  async findById(id: string): Promise<SagaRow | undefined> {
    return this.db.selectFrom('billing_sagas').select(sagaColumns).where('id', '=', id).executeTakeFirst();
  }

  async listForSubject(kind: SagaKind, subjectId: string): Promise<SagaRow[]> {
    return this.db.selectFrom('billing_sagas').select(sagaColumns).where('kind', '=', kind).where('subject_id', '=', subjectId).orderBy('created_at').execute();
  }

  /** A workspace's sagas, newest first, for the back office. */
  async listForWorkspace(workspaceId: string, limit: number): Promise<SagaRow[]> {
    return this.db.selectFrom('billing_sagas').select(sagaColumns).where('workspace_id', '=', workspaceId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  async steps(sagaId: string): Promise<StepRow[]> {
    return this.db
      .selectFrom('billing_saga_steps')
      .select(['step', 'idempotency_key as idempotencyKey', 'gateway_object_id as objectId', 'data', 'status'])
      .where('saga_id', '=', sagaId)
      .orderBy('started_at')
      .execute();
  }

  /** Writes the intent of a step before its gateway call. */
  async startStep(sagaId: string, step: string, idempotencyKey: string): Promise<void> {
    await this.db
      .insertInto('billing_saga_steps')
      .values({ saga_id: sagaId, step, idempotency_key: idempotencyKey, status: 'started' })
      .onConflict((oc) => oc.columns(['saga_id', 'step']).doNothing())
      .execute();
    await this.touch(sagaId);
  }

  /** Writes the result of a step after its gateway call. */
  async finishStep(sagaId: string, step: string, result: { status: SagaStepStatus; objectId: string | null; data?: Record<string, unknown>; error?: string }): Promise<void> {
    await this.db
      .updateTable('billing_saga_steps')
      .set({
        status: result.status,
        gateway_object_id: result.objectId,
        data: JSON.stringify(result.data ?? {}),
        error: result.error ?? null,
        finished_at: sql`now()`,
      })
      .where('saga_id', '=', sagaId)
      .where('step', '=', step)
      .execute();
    await this.touch(sagaId);
  }

  async markCompensated(sagaId: string, step: string): Promise<void> {
    await this.db.updateTable('billing_saga_steps').set({ status: 'compensated', compensated_at: sql`now()` }).where('saga_id', '=', sagaId).where('step', '=', step).execute();
    await this.touch(sagaId);
  }

  async update(sagaId: string, change: { state?: SagaState; compensating?: boolean; outcome?: Record<string, unknown>; lastError?: string | null; attempt?: boolean }): Promise<void> {
    const finished = change.state === 'completed' || change.state === 'failed';
    await this.db
      .updateTable('billing_sagas')
      .set((eb) => ({
        ...(change.state ? { state: change.state } : {}),
        ...(change.compensating !== undefined ? { compensating: change.compensating } : {}),
        ...(change.outcome ? { outcome: JSON.stringify(change.outcome) } : {}),
        ...(change.lastError !== undefined ? { last_error: change.lastError } : {}),
        ...(change.attempt ? { attempts: eb('attempts', '+', 1) } : {}),
        ...(finished ? { finished_at: sql`now()` } : {}),
        updated_at: sql`now()`,
      }))
      .where('id', '=', sagaId)
      .execute();
  }

  /** Progress: nobody is idle on this saga. */
  async touch(sagaId: string): Promise<void> {
    await this.db.updateTable('billing_sagas').set({ updated_at: sql`now()` }).where('id', '=', sagaId).execute();
  }

  /**
   * Active sagas with no progress for `stallSeconds` (a saga waiting for the customer's 3-D Secure
   * challenge: for `actionSeconds`), oldest first.
   */
  async listStalled(stallSeconds: number, actionSeconds: number, limit: number): Promise<SagaRow[]> {
    return this.db
      .selectFrom('billing_sagas')
      .select(sagaColumns)
      .where('state', 'in', ACTIVE)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '<>', 'requires_action'), eb('updated_at', '<', sql<Date>`now() - make_interval(secs => ${stallSeconds})`)]),
          eb.and([eb('state', '=', 'requires_action'), eb('updated_at', '<', sql<Date>`now() - make_interval(secs => ${actionSeconds})`)]),
        ]),
      )
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  }
}
