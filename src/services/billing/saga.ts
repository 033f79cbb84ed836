import type pg from 'pg';
import type { Db, Tx } from '../../db/database.js';
import type { SagaKind } from '../../db/schema.js';
import { AppError, type ErrorCode } from '../../errors.js';
import type { SagaRepository, SagaRow, StepRow } from '../../repositories/billing/saga-repository.js';
import { retryWhileUnavailable } from './gateway-retries.js';
import { CardDeclinedError, GatewayRejectedError, GatewayUnavailableError } from './payment-gateway.js';

/**
 * A saga is data: a row in billing_sagas and a journal of its steps in billing_saga_steps. Each step
 * writes its intent before its gateway call and its result after; its idempotency key is derived from
 * the saga id and the step, so a retry after a crash replays the call instead of acting twice
 * (https://docs.stripe.com/api/idempotent_requests). After the steps comes the pivot: ONE local
 * transaction; before it, any failure compensates the steps in reverse; after it, the saga only goes
 * forward.
 */

/** What a step did at the gateway. */
export interface StepOutput {
  objectId: string | null;
  data?: Record<string, unknown>;
  /** The customer must act (3-D Secure): the saga waits, and a later drive resumes this step. */
  requiresAction?: { clientSecret: string };
}

/** What steps, the pivot and compensation see. */
export interface SagaContext<I> {
  saga: SagaRow;
  input: I;
  /** The journal, by step name, as of now. */
  steps: Map<string, StepRow>;
  /** The key of a second call a step makes (e.g. its compensation). */
  key(step: string, purpose: string): string;
}

/** One step of a saga. */
export interface SagaStep<I> {
  name: string;
  /** Performs the step with `key`; the same key replays the first result. */
  run(ctx: SagaContext<I>, key: string): Promise<StepOutput>;
  /** Continues a step that waited for the customer. */
  resume?(ctx: SagaContext<I>, step: StepRow): Promise<StepOutput>;
  /** Undoes what the step did; "already gone" must count as done. */
  compensate?(ctx: SagaContext<I>, step: StepRow): Promise<void>;
}

/** A kind of saga: steps, the pivot, and the steps that finish it after the pivot. */
export interface SagaDefinition<I, R> {
  kind: SagaKind;
  steps: SagaStep<I>[];
  /** The one local transaction; its result is what every caller of the saga gets. */
  pivot(trx: Tx, ctx: SagaContext<I>): Promise<R>;
  /** Run after the pivot, retried until done, never compensated. */
  after?: SagaStep<I>[];
}

/** Options of the saga runner. */
export interface SagaRunnerOptions {
  /** Attempts of a gateway call on 5xx, 429, timeouts and dropped connections (same key each time). */
  maxAttempts: number;
  /** First backoff; doubled each attempt, with jitter. */
  retryBaseMs: number;
  /** A saga with no progress for this long is recovered by the job. */
  stallSeconds: number;
  /** A saga waiting for the customer's 3-D Secure challenge is abandoned after this long. */
  actionTimeoutSeconds: number;
  /** How long a second caller waits for the saga another request is driving. */
  joinWaitMs: number;
}

/** Thrown by the crash point (tests): the driver stops as a dead process would, leaving the journal as it is. */
export class SagaCrash extends Error {
  constructor(step: string) {
    super(`Simulated crash after step ${step}.`);
    this.name = 'SagaCrash';
  }
}

/** A stored failure, as every caller of the saga gets it. */
interface Failure {
  code: ErrorCode;
  detail: string;
  extra?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

const TERMINAL = new Set(['completed', 'failed']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drives sagas: one driver per saga at a time (a session advisory lock), others wait for its outcome. */
export class SagaRunner {
  /** Test-only crash point: after the named step (or 'pivot') of any saga, the driver stops. */
  crashAfter: string | undefined;

  private readonly definitions = new Map<SagaKind, SagaDefinition<unknown, unknown>>();

  constructor(
    private readonly deps: { db: Db; pool: pg.Pool; sagas: SagaRepository },
    private readonly options: SagaRunnerOptions,
  ) {}

  /** Registers a kind of saga, for driving and for recovery. */
  define<I, R>(definition: SagaDefinition<I, R>): void {
    this.definitions.set(definition.kind, definition as SagaDefinition<unknown, unknown>);
  }

  /** The key of a step: derived from the saga and the step, never random. */
  static key(sagaId: string, step: string, purpose = 'run'): string {
    return `saga_${sagaId}_${step}_${purpose}`;
  }

  /**
   * Runs the saga to its outcome and answers it: the pivot's result, or the stored failure as an
   * AppError. When another request is driving it, waits for that one's outcome instead.
   */
  async run<R>(sagaId: string): Promise<R> {
    const deadline = Date.now() + this.options.joinWaitMs;
    for (;;) {
      const release = await this.tryLock(sagaId);
      if (release) {
        try {
          return (await this.drive(sagaId)) as R;
        } finally {
          await release();
        }
      }
      const saga = await this.deps.sagas.findById(sagaId);
      if (!saga) throw new Error(`Saga ${sagaId} does not exist.`);
      // Even a saga waiting for 3-D Secure is waited for: its driver may be resuming it right now.
      if (TERMINAL.has(saga.state)) return outcomeOf<R>(saga);
      if (Date.now() > deadline) throw unavailable('The payment is still being set up by another request. Try again in a moment.', 5);
      await sleep(50);
    }
  }

  /**
   * Recovery: sagas nobody is driving (no progress for SAGA_STALL_SECONDS) are compensated when
   * before the pivot and finished when after it. Each is handled under its lock, so two recovery
   * runs at once handle each saga once. Returns how many it handled.
   */
  async recover(limit = 100): Promise<number> {
    let handled = 0;
    for (const candidate of await this.deps.sagas.listStalled(this.options.stallSeconds, this.options.actionTimeoutSeconds, limit)) {
      const release = await this.tryLock(candidate.id);
      if (!release) continue; // someone is driving it right now
      try {
        const saga = await this.deps.sagas.findById(candidate.id);
        // Another run handled it meanwhile, or it made progress since it was listed.
        if (!saga || TERMINAL.has(saga.state) || saga.updatedAt.getTime() !== candidate.updatedAt.getTime()) continue;
        handled++;
        const definition = this.definition(saga.kind);
        await this.deps.sagas.update(saga.id, { attempt: true });
        const ctx = await this.context(saga);
        try {
          if (saga.state === 'pivoted') await this.finish(definition, ctx);
          else await this.compensate(definition, ctx, (saga.outcome as Failure | null) ?? abandoned());
        } catch (error) {
          if (!(error instanceof AppError)) throw error; // the stored failure, as callers get it
        }
      } finally {
        await release();
      }
    }
    return handled;
  }

  /**
   * Undoes a saga before its pivot, waiting for its driver if any (a saga paused for 3-D Secure that
   * the person replaced by another card). A saga past its pivot is left to finish.
   */
  async abandon(sagaId: string): Promise<void> {
    const deadline = Date.now() + this.options.joinWaitMs;
    for (;;) {
      const release = await this.tryLock(sagaId);
      if (release) {
        try {
          const saga = await this.deps.sagas.findById(sagaId);
          if (!saga || TERMINAL.has(saga.state) || saga.state === 'pivoted') return;
          await this.compensate(this.definition(saga.kind), await this.context(saga), superseded()).catch((error: unknown) => {
            if (!(error instanceof AppError) || error.code === 'payment_unavailable') throw error;
          });
          return;
        } finally {
          await release();
        }
      }
      if (Date.now() > deadline) throw unavailable('The payment is still being set up by another request. Try again in a moment.', 5);
      await sleep(50);
    }
  }

  private definition(kind: SagaKind): SagaDefinition<unknown, unknown> {
    const definition = this.definitions.get(kind);
    if (!definition) throw new Error(`No saga definition for ${kind}.`);
    return definition;
  }

  private async context(saga: SagaRow): Promise<SagaContext<unknown>> {
    const steps = new Map((await this.deps.sagas.steps(saga.id)).map((step) => [step.step, step]));
    return { saga, input: saga.input, steps, key: (step, purpose) => SagaRunner.key(saga.id, step, purpose) };
  }

  private async drive(sagaId: string): Promise<unknown> {
    const saga = await this.deps.sagas.findById(sagaId);
    if (!saga) throw new Error(`Saga ${sagaId} does not exist.`);
    if (TERMINAL.has(saga.state)) return outcomeOf(saga);
    const definition = this.definition(saga.kind);
    await this.deps.sagas.update(saga.id, { attempt: true });
    const ctx = await this.context(saga);
    if (saga.compensating) return this.compensate(definition, ctx, (saga.outcome as Failure | null) ?? abandoned());
    if (saga.state === 'pivoted') return this.finish(definition, ctx);
    let result: unknown;
    try {
      for (const step of definition.steps) await this.runStep(step, ctx);
      result = await this.deps.db.transaction().execute(async (trx) => {
        const value = await definition.pivot(trx, ctx);
        await this.deps.sagas.withTx(trx).update(saga.id, { state: 'pivoted', outcome: { result: value } });
        return value;
      });
    } catch (error) {
      if (error instanceof SagaCrash || isActionRequired(error)) throw error;
      await this.journalFailure(ctx, error);
      return this.compensate(definition, ctx, failureOf(error));
    }
    this.crashPoint('pivot');
    await this.finish(definition, ctx);
    return result;
  }

  /** Runs one step unless the journal says it is done; intent before the call, result after. */
  private async runStep(step: SagaStep<unknown>, ctx: SagaContext<unknown>): Promise<void> {
    const recorded = ctx.steps.get(step.name);
    if (recorded?.status === 'succeeded') return;
    const key = recorded?.idempotencyKey ?? SagaRunner.key(ctx.saga.id, step.name);
    let output: StepOutput;
    if (recorded?.status === 'requires_action' && step.resume) {
      output = await this.retrying(ctx, () => step.resume!(ctx, recorded));
    } else {
      if (!recorded) await this.deps.sagas.startStep(ctx.saga.id, step.name, key);
      ctx.steps.set(step.name, { step: step.name, idempotencyKey: key, objectId: null, data: {}, status: 'started' });
      output = await this.retrying(ctx, () => step.run(ctx, key));
    }
    const status = output.requiresAction ? 'requires_action' : 'succeeded';
    const data = { ...output.data, ...(output.requiresAction ? { clientSecret: output.requiresAction.clientSecret } : {}) };
    await this.deps.sagas.finishStep(ctx.saga.id, step.name, { status, objectId: output.objectId, data });
    ctx.steps.set(step.name, { step: step.name, idempotencyKey: key, objectId: output.objectId, data, status });
    if (output.requiresAction) {
      await this.deps.sagas.update(ctx.saga.id, { state: 'requires_action' });
      throw actionRequired([...ctx.steps.values()]);
    }
    if (ctx.saga.state === 'requires_action') await this.deps.sagas.update(ctx.saga.id, { state: 'running' });
    this.crashPoint(step.name);
  }

  /** A definitive refusal marks the step failed (nothing to undo); anything else leaves it unknown. */
  private async journalFailure(ctx: SagaContext<unknown>, error: unknown): Promise<void> {
    if (!(error instanceof CardDeclinedError || error instanceof GatewayRejectedError)) return;
    const started = [...ctx.steps.values()].find((step) => step.status === 'started' || step.status === 'requires_action');
    if (!started) return;
    await this.deps.sagas.finishStep(ctx.saga.id, started.step, { status: 'failed', objectId: started.objectId, data: started.data, error: error.message });
    ctx.steps.set(started.step, { ...started, status: 'failed' });
  }

  /** Undoes every step in reverse, then records the failure; a step that cannot be undone now is left to recovery. */
  private async compensate(definition: SagaDefinition<unknown, unknown>, ctx: SagaContext<unknown>, failure: Failure): Promise<never> {
    await this.deps.sagas.update(ctx.saga.id, { compensating: true, state: 'running', outcome: failure as unknown as Record<string, unknown>, lastError: failure.detail });
    for (const step of [...definition.steps].reverse()) {
      let recorded = ctx.steps.get(step.name);
      if (!recorded || recorded.status === 'failed' || recorded.status === 'compensated') continue;
      try {
        if (recorded.status === 'started') {
          // The call's result is unknown (a crash or a dropped connection): replaying it with the
          // same key returns what the gateway did, or does it now; either way there is one object to undo.
          try {
            const output = await this.retrying(ctx, () => step.run(ctx, recorded!.idempotencyKey));
            recorded = { ...recorded, objectId: output.objectId, data: { ...output.data }, status: output.requiresAction ? 'requires_action' : 'succeeded' };
            await this.deps.sagas.finishStep(ctx.saga.id, step.name, { status: recorded.status, objectId: recorded.objectId, data: recorded.data });
          } catch (error) {
            if (!(error instanceof CardDeclinedError || error instanceof GatewayRejectedError)) throw error;
            await this.deps.sagas.markCompensated(ctx.saga.id, step.name); // nothing was created
            continue;
          }
        }
        if (step.compensate) await this.retrying(ctx, () => step.compensate!(ctx, recorded!));
        await this.deps.sagas.markCompensated(ctx.saga.id, step.name);
      } catch (error) {
        await this.deps.sagas.update(ctx.saga.id, { lastError: `Compensation of ${step.name} failed: ${error instanceof Error ? error.message : String(error)}` });
        throw toAppError(failure.code === 'payment_unavailable' ? failure : unavailableFailure());
      }
    }
    await this.deps.sagas.update(ctx.saga.id, { state: 'failed', compensating: false });
    throw toAppError(failure);
  }

  /** After the pivot: the remaining steps go forward until done. */
  private async finish(definition: SagaDefinition<unknown, unknown>, ctx: SagaContext<unknown>): Promise<unknown> {
    for (const step of definition.after ?? []) await this.runStep(step, ctx);
    await this.deps.sagas.update(ctx.saga.id, { state: 'completed' });
    const saga = await this.deps.sagas.findById(ctx.saga.id);
    return outcomeOf(saga!);
  }

  /** Same key every attempt; backoff doubles with jitter; each attempt is progress (the heartbeat). */
  private retrying<T>(ctx: SagaContext<unknown>, call: () => Promise<T>): Promise<T> {
    return retryWhileUnavailable({ maxAttempts: this.options.maxAttempts, baseMs: this.options.retryBaseMs }, call, () => this.deps.sagas.touch(ctx.saga.id));
  }

  private crashPoint(step: string): void {
    if (this.crashAfter === step) throw new SagaCrash(step);
  }

  /** A session-level advisory lock on its own connection: released by us, or by PostgreSQL if we die. */
  private async tryLock(sagaId: string): Promise<(() => Promise<void>) | undefined> {
    const client = await this.deps.pool.connect();
    const key = `billing_saga:${sagaId}`;
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as locked', [key]);
      if (!rows[0]?.locked) {
        client.release();
        return undefined;
      }
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return async () => {
      try {
        await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
        client.release();
      } catch (error) {
        client.release(error as Error); // a broken connection is discarded, which releases the lock too
      }
    };
  }
}

function outcomeOf<R>(saga: SagaRow): R {
  if (saga.state === 'failed') throw toAppError(saga.outcome as unknown as Failure);
  return (saga.outcome as { result: R }).result;
}

function failureOf(error: unknown): Failure {
  if (error instanceof CardDeclinedError) {
    return { code: 'card_declined', detail: `The card was declined: ${error.reason} Try another card.`, extra: { reason: error.reason, declineCode: error.declineCode } };
  }
  if (error instanceof GatewayUnavailableError) return unavailableFailure();
  if (error instanceof GatewayRejectedError) {
    return { code: 'invalid_payment_method', detail: `The payment gateway refused the request: ${error.message}`, extra: { gatewayCode: error.code } };
  }
  if (error instanceof AppError) return { code: error.code, detail: error.detail, extra: error.options.extra, retryAfterSeconds: error.options.retryAfterSeconds };
  return { code: 'internal_error', detail: 'Something went wrong on our side. Please try again; if it keeps happening, contact support.' };
}

function unavailableFailure(): Failure {
  return { code: 'payment_unavailable', detail: 'The payment gateway is unavailable right now. Nothing was charged or kept; please try again in a minute.', retryAfterSeconds: 30 };
}

function abandoned(): Failure {
  return { code: 'payment_unavailable', detail: 'The payment setup was interrupted and has been undone. Please try again.', retryAfterSeconds: 5 };
}

function superseded(): Failure {
  return { code: 'invalid_payment_method', detail: 'This card setup was replaced by another card.' };
}

function unavailable(detail: string, retryAfterSeconds: number): AppError {
  return new AppError('payment_unavailable', detail, { retryAfterSeconds });
}

function toAppError(failure: Failure): AppError {
  return new AppError(failure.code, failure.detail, { extra: failure.extra, retryAfterSeconds: failure.retryAfterSeconds });
}

function actionRequired(steps: StepRow[]): AppError {
  const waiting = steps.find((step) => step.status === 'requires_action');
  return new AppError('payment_action_required', 'Your bank asks you to confirm this card (3-D Secure). Finish the challenge with the client secret, then send the same request again.', {
    extra: { setupIntentId: waiting?.objectId ?? null, clientSecret: waiting?.data.clientSecret ?? null },
  });
}

function isActionRequired(error: unknown): boolean {
  return error instanceof AppError && error.code === 'payment_action_required';
}
