/** Seeds owners, workspaces, onboarding progress and live sessions straight into the database, in batches. */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { hashToken } from '../src/services/tokens.js';

/** A seeded owner: what a load test needs to call member routes. */
export interface SeededOwner {
  accountId: string;
  workspaceId: string;
  cookie: string;
}

/** Creates `count` owners with one workspace each (and `extraMembers` members per workspace), printing progress. */
export async function seedOwners(pool: pg.Pool, count: number, options: { extraMembers?: number; label?: string; spreadDays?: number } = {}): Promise<SeededOwner[]> {
  const batch = 2000;
  const owners: SeededOwner[] = [];
  const started = Date.now();
  for (let offset = 0; offset < count; offset += batch) {
    const size = Math.min(batch, count - offset);
    const rows = Array.from({ length: size }, (_, i) => {
      const token = randomBytes(32).toString('base64url');
      const n = offset + i;
      return {
        accountId: randomUUID(),
        workspaceId: randomUUID(),
        token,
        tokenHash: hashToken(token),
        email: `seed-${n}-${randomUUID().slice(0, 6)}@example.com`,
        name: `Seed Owner ${n}`,
        workspaceName: `Workspace ${n} ${['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'][n % 5]}`,
        createdAt: new Date(Date.now() - Math.random() * (options.spreadDays ?? 0) * 86_400_000),
        verified: n % 3 !== 0,
        trialDays: [null, 20, 2, -5][n % 4],
        steps: ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import'].slice(0, n % 5),
      };
    });
    await pool.query(
      `with input as (
         select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::timestamptz[], $8::bool[], $9::int[], $10::text[])
           as t(account_id, workspace_id, email, name, workspace_name, token_hash, created_at, verified, trial_days, steps)
       ), a as (
         insert into accounts (id, email, name, password_hash, email_verified_at, created_at)
         select account_id, email, name, 'seeded-no-password', case when verified then created_at end, created_at from input
       ), w as (
         insert into workspaces (id, name, created_at, trial_ends_at, initialized_at)
         select workspace_id, workspace_name, created_at,
                case when verified and trial_days is not null then now() + make_interval(days => trial_days) end, created_at
         from input
       ), m as (
         insert into workspace_members (workspace_id, account_id, role, joined_at) select workspace_id, account_id, 'owner', created_at from input
       ), p as (
         insert into onboarding_progress (workspace_id, completed_steps, completed_at)
         select workspace_id, coalesce(string_to_array(nullif(steps, ''), ','), '{}'), case when steps like '%first_data_import%' then now() end from input
       )
       insert into sessions (token_hash, account_id, expires_at) select token_hash, account_id, now() + interval '1 day' from input`,
      [
        rows.map((r) => r.accountId),
        rows.map((r) => r.workspaceId),
        rows.map((r) => r.email),
        rows.map((r) => r.name),
        rows.map((r) => r.workspaceName),
        rows.map((r) => r.tokenHash),
        rows.map((r) => r.createdAt),
        rows.map((r) => r.verified),
        rows.map((r) => r.trialDays),
        rows.map((r) => r.steps.join(',')),
      ],
    );
    if (options.extraMembers) await seedMembers(pool, rows.map((r) => r.workspaceId), options.extraMembers);
    owners.push(...rows.map((r) => ({ accountId: r.accountId, workspaceId: r.workspaceId, cookie: `sid=${r.token}` })));
    progress(options.label ?? 'seeding', owners.length, count, started);
  }
  process.stderr.write('\n');
  await pool.query('analyze');
  return owners;
}

async function seedMembers(pool: pg.Pool, workspaceIds: string[], perWorkspace: number): Promise<void> {
  await pool.query(
    `with input as (select w, gen_random_uuid() as account_id, n from unnest($1::uuid[]) w, generate_series(1, $2::int) n),
     a as (insert into accounts (id, email, name, password_hash, email_verified_at)
           select account_id, 'member-' || account_id || '@example.com', 'Member ' || n, 'seeded-no-password', now() from input)
     insert into workspace_members (workspace_id, account_id, role) select w, account_id, 'member' from input`,
    [workspaceIds, perWorkspace],
  );
}

/** A one-line progress bar on stderr. */
export function progress(label: string, done: number, total: number, startedAt: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${seconds}s`);
}
