import { Logger, parseCrontab, run, type Runner, type WorkerEvents } from 'graphile-worker';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { Services } from '../services/index.js';
import { createTaskList } from './tasks.js';

/** graphile-worker's log lines, through our JSON logger. */
export function workerLogger(log: FastifyBaseLogger): Logger {
  return new Logger((scope) => (level, message, meta) => {
    const fields = { scope: { label: scope.label, taskIdentifier: scope.taskIdentifier, jobId: scope.jobId }, ...(meta?.error ? { err: meta.error } : {}) };
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
  '55 3 * * * purge_webhook_log ?max=5',
].join('\n');

/**
 * Starts the job worker on `pool` (a direct one: the worker LISTENs and prepares statements); stop
 * it with `runner.stop()`. `events` receives every job's start and outcome (the metrics).
 */
export async function startWorker(deps: { pool: pg.Pool; services: Services; log: FastifyBaseLogger; concurrency: number; events?: WorkerEvents }): Promise<Runner> {
  return run({
    ...(deps.events ? { events: deps.events } : {}),
    pgPool: deps.pool,
    taskList: createTaskList(deps.services),
    parsedCronItems: parseCrontab(CRONTAB),
    concurrency: deps.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: workerLogger(deps.log),
  });
}
