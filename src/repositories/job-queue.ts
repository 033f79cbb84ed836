import { sql } from 'kysely';
import type { Tx } from '../db/database.js';

/** Every job the worker knows, with its payload. */
export interface JobPayloads {
  send_verification_email: { verificationId: string };
  initialize_workspace: { workspaceId: string };
  send_invitation_email: { invitationId: string };
  onboarding_completed: { workspaceId: string };
  send_trial_email: { workspaceId: string; kind: 'ending_soon' | 'ended'; trialEndsAt: string };
}
export type JobName = keyof JobPayloads;

/** Options graphile-worker's add_job understands. */
export interface JobOptions {
  /** A queued job with the same key is replaced, so at most one of them runs. */
  jobKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/**
 * Adds a job with SQL `graphile_worker.add_job` inside the caller's transaction, so the job exists
 * exactly when the rows that need it commit.
 */
export async function enqueueJob<N extends JobName>(
  trx: Tx,
  name: N,
  payload: JobPayloads[N],
  options: JobOptions = {},
): Promise<void> {
  await sql`select graphile_worker.add_job(
    identifier => ${name},
    payload => ${JSON.stringify(payload)}::json,
    run_at => ${options.runAt ?? null}::timestamptz,
    max_attempts => ${options.maxAttempts ?? 25}::int,
    job_key => ${options.jobKey ?? null}::text
  )`.execute(trx);
}
