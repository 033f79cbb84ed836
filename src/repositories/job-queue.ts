import { sql } from 'kysely';
import type { Tx } from '../db/database.js';

/** Every job the worker knows, with its payload. */
export interface JobPayloads {
  send_verification_email: { verificationId: string };
  /** A signed-out request for a new verification link: looked up in the job, so the request reveals nothing. */
  send_new_verification_link: { email: string };
  initialize_workspace: { workspaceId: string };
  /** `sendNumber`: which send of the invitation this email is (its link is derived from it). */
  send_invitation_email: { invitationId: string; sendNumber: number };
  onboarding_completed: { workspaceId: string };
  /** `trialEndsAt`: PostgreSQL's exact text of the trial end the email is about. */
  send_trial_email: { workspaceId: string; kind: 'ending_soon' | 'ended'; trialEndsAt: string };
  /** `codeNumber`: the flow's code number; the code is derived again from it and the flow id. */
  send_signup_code: { flowId: string; codeNumber: number };
  /** A received payment-gateway event (gateway_events.event_id) to apply. */
  process_gateway_event: { eventId: string };
  /** A billing saga to drive on (its SetupIntent succeeded after 3-D Secure while nobody waited). */
  resume_billing_saga: { sagaId: string };
  /** One attempt to deliver one event to one endpoint (src/services/events/webhook-service.ts). */
  deliver_webhook: { deliveryId: string };
  /** `lockedUntil`: ISO time the sign-in lock of the account's address ends. */
  send_sign_in_locked_email: { accountId: string; lockedUntil: string };
}
export type JobName = keyof JobPayloads;

/** Options graphile-worker's add_jobs understands. */
export interface JobOptions {
  /** A queued job with the same key is replaced, so at most one of them runs. */
  jobKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/** One job to add: its task, payload and options. */
export type JobSpec = { [N in JobName]: { name: N; payload: JobPayloads[N]; options?: JobOptions } }[JobName];

/** An SQL expression that adds the jobs (a set of job rows); usable inside a larger statement. */
export function addJobsSql(jobs: JobSpec[]) {
  const specs = jobs.map(({ name, payload, options = {} }) => ({
    identifier: name,
    payload,
    run_at: options.runAt?.toISOString() ?? null,
    max_attempts: options.maxAttempts ?? 25,
    job_key: options.jobKey ?? null,
  }));
  return sql`graphile_worker.add_jobs(array(
    select json_populate_recordset(null::graphile_worker.job_spec, ${JSON.stringify(specs)}::json)
  ))`;
}

/**
 * Adds jobs with SQL `graphile_worker.add_jobs` inside the caller's transaction, in one statement,
 * so the jobs exist exactly when the rows that need them commit.
 */
export async function enqueueJobs(trx: Tx, jobs: JobSpec[]): Promise<void> {
  await sql`select 1 from ${addJobsSql(jobs)}`.execute(trx);
}

/** Adds one job; see enqueueJobs. */
export function enqueueJob<N extends JobName>(trx: Tx, name: N, payload: JobPayloads[N], options: JobOptions = {}): Promise<void> {
  return enqueueJobs(trx, [{ name, payload, options } as JobSpec]);
}
