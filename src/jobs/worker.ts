import { EventEmitter } from 'node:events';
import { Logger, parseCrontab, run, type Runner, type WorkerEvents } from 'graphile-worker';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { RetryLater } from '../errors.js';
import type { Services } from '../services/index.js';
import { startHeartbeat } from './heartbeat.js';
import { createTaskList } from './tasks.js';

/**
 * graphile-worker's log lines, through our JSON logger. A job that failed with RetryLater before its
 * last attempt is a warning saying what it waits for, not an error: it is expected to succeed later.
 */
export function workerLogger(log: FastifyBaseLogger): Logger {
  return new Logger((scope) => (level, message, meta) => {
    const scopeFields = { label: scope.label, taskIdentifier: scope.taskIdentifier, jobId: scope.jobId };
    const job = meta?.job as { id: string; task_identifier: string; attempts: number; max_attempts: number } | undefined;
    if (meta?.error instanceof RetryLater && job && job.attempts < job.max_attempts) {
      log.warn({ scope: scopeFields }, `Task ${job.id} (${job.task_identifier}, attempt ${job.attempts} of ${job.max_attempts}) waits: ${meta.error.message}`);
      return;
    }
    const fields = { scope: scopeFields, ...(meta?.error ? { err: meta.error } : {}) };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}

/**
 * Recurring jobs. graphile-worker schedules each tick once across all workers, and every task is
 * idempotent besides, so several workers are safe.
 */
export const CRONTAB = [
  '# m h dom mon dow task ?options',
  '15 3 * * * close_abandoned_workspaces ?max=5',
  '5 * * * * queue_trial_emails ?max=5',
  '45 3 * * * purge_expired ?max=5',
  '*/5 * * * * clean_signup_flows ?max=5',
  '* * * * * recover_billing_sagas ?max=1',
  '55 3 * * * purge_webhook_log ?max=5',
].join('\n');

/** A running job worker: graphile-worker's runner and the heartbeat that vouches for it. */
export interface RunningWorker {
  runner: Runner;
  /** graphile-worker's pool id: what its jobs' `locked_by` says, and the heartbeat's key. */
  workerId: string;
  /** Waits for running jobs, then stops the heartbeat and removes it. */
  stop(): Promise<void>;
}

/**
 * Starts the job worker on `pool` (a direct one: the worker LISTENs and prepares statements), with
 * its heartbeat: every `heartbeatSeconds` it records that it is alive and releases the jobs of
 * workers silent for WORKER_DEAD_AFTER_SECONDS. `events` receives every job's start and outcome
 * (the metrics).
 */
export async function startWorker(deps: {
  pool: pg.Pool;
  services: Services;
  log: FastifyBaseLogger;
  concurrency: number;
  heartbeatSeconds: number;
  events?: WorkerEvents;
}): Promise<RunningWorker> {
  const events: WorkerEvents = deps.events ?? new EventEmitter();
  let workerId: string | undefined;
  events.on('pool:create', ({ workerPool }) => (workerId ??= workerPool.id));
  const runner = await run({
    pgPool: deps.pool,
    taskList: createTaskList(deps.services),
    parsedCronItems: parseCrontab(CRONTAB),
    concurrency: deps.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: workerLogger(deps.log),
    events,
    // Batching (graphile-worker's performance guide): jobs are fetched a few at a time, and
    // completions that finish together share one statement. Each sign-up queues two jobs, so this
    // halves the worker's queries; a crashed worker's locally queued jobs are released by the sweeper.
    preset: { worker: { localQueue: { size: deps.concurrency + 1 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  if (!workerId) throw new Error('graphile-worker started without announcing its worker pool.');
  // Billing sagas a previous process left half-done are recovered at start, not only on the minute.
  await runner.addJob('recover_billing_sagas', {}, { jobKey: 'recover_billing_sagas_at_start' });
  const heartbeat = startHeartbeat({ registry: deps.services.workers, workerId, intervalMs: deps.heartbeatSeconds * 1000, log: deps.log });
  // A runner that ends by itself (a fatal error) must stop vouching for jobs it no longer runs.
  runner.promise.then(() => heartbeat.stop(), () => heartbeat.stop());
  return {
    runner,
    workerId,
    async stop() {
      try {
        await runner.stop();
      } finally {
        await heartbeat.stop();
      }
    },
  };
}
