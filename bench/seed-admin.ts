/**
 * Seeds workspaces for the admin search benchmark with the spread a real back office sees: trial
 * states, plans, closed workspaces, onboarding progress, owners with company email domains, members
 * and pending invitations; every name fragment and email domain is shared by 1 workspace in 20.
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { progress } from './seed.js';

/** 20 words: each appears in the names (and, as a domain, in the owner emails) of 1 workspace in 20. */
export const FRAGMENTS = [
  'acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne',
  'soylent', 'oscorp', 'aperture', 'vandelay', 'pied', 'dunder', 'gringotts', 'monarch', 'nakatomi', 'sterling',
];

/** What fraction of seeded workspaces falls in each state, for reading the results. */
export const SPREAD = {
  trial: 'pending_verification 15%, active 45% (ending_soon 10% of all), expired 30%',
  plan: 'trial 75%, pro 25%',
  status: 'closed 8%',
  onboarding: 'completed 30%',
  subscription: 'pro: active 80%, past_due 10%, trialing 5%, canceled 5%; trial: canceled 4%; 1 in 5 subscribed has an older canceled one',
};

/** Adds `count` workspaces (numbered from `offset`) with owners, 2 members each and some invitations. */
export async function seedAdminWorkspaces(pool: pg.Pool, count: number, offset = 0, label = 'seeding'): Promise<void> {
  const batch = 2000;
  const started = Date.now();
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    const rows = Array.from({ length: size }, (_, i) => row(offset + done + i));
    await pool.query(
      `with input as (
         select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                              $8::timestamptz[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::boolean[])
           as t(account_id, workspace_id, email, name, workspace_name, created_at, verified_at, trial_ends_at, plan, status, completed_at, steps,
                subscription, older_subscription)
       ), a as (
         insert into accounts (id, email, name, password_hash, email_verified_at, created_at)
         select account_id, email, name, 'seeded-no-password', verified_at, created_at from input
       ), w as (
         insert into workspaces (id, name, plan, status, closed_at, created_at, trial_ends_at, initialized_at)
         select workspace_id, workspace_name, plan, status, case when status = 'closed' then created_at + interval '8 days' end,
                created_at, trial_ends_at, created_at + interval '2 seconds'
         from input
       ), m as (
         insert into workspace_members (workspace_id, account_id, role, joined_at) select workspace_id, account_id, 'owner', created_at from input
       ), member_input as materialized (
         select gen_random_uuid() as id, i.workspace_id, n, 'member-' || n || '-' || i.account_id || '@' || split_part(i.email, '@', 2) as email
         from input i, generate_series(1, 2) n
       ), members as (
         insert into accounts (id, email, name, password_hash, email_verified_at)
         select id, email, 'Member ' || n, 'seeded-no-password', now() from member_input
       ), mm as (
         insert into workspace_members (workspace_id, account_id, role) select workspace_id, id, 'member' from member_input
       ), inv as (
         insert into invitations (workspace_id, email, role, token_hash, invited_by, expires_at)
         select workspace_id, 'invitee-' || account_id || '@example.com', 'member', sha256(account_id::text::bytea), account_id, now() + interval '5 days'
         from input where get_byte(sha256(account_id::text::bytea), 0) < 64
       ), customers as (
         insert into billing_customers (workspace_id, gateway, customer_id, created_at)
         select workspace_id, 'local', 'cus_' || workspace_id, created_at from input where subscription <> ''
       ), subscribed as (
         insert into subscriptions (workspace_id, customer_id, gateway_id, plan, status, gateway_updated_at, created_at)
         select workspace_id, 'cus_' || workspace_id, 'sub_' || workspace_id, 'pro', subscription, created_at + interval '1 day', created_at + interval '1 day'
         from input where subscription <> ''
         union all
         select workspace_id, 'cus_' || workspace_id, 'sub_old_' || workspace_id, 'pro', 'canceled', created_at + interval '1 hour', created_at + interval '1 hour'
         from input where older_subscription
       )
       insert into onboarding_progress (workspace_id, completed_steps, completed_at)
       select workspace_id, coalesce(string_to_array(nullif(steps, ''), ','), '{}'), completed_at from input`,
      columns(rows),
    );
    progress(label, done + size, count, started);
  }
  process.stderr.write('\n');
  // A database in service has had autovacuum pass over it (migration 0014 makes it pass often on
  // workspaces): statistics current and the visibility map set, which index-only scans rely on.
  await pool.query('vacuum analyze');
}

type SeedRow = ReturnType<typeof row>;

function row(n: number) {
  const day = 86_400_000;
  const now = Date.now();
  // Independent, repeatable draws from 0 to 99 per workspace and per property.
  const r = (salt: number) => createHash('sha256').update(`${n}:${salt}`).digest().readUInt32BE(0) % 100;
  const fragment = FRAGMENTS[n % FRAGMENTS.length]!;
  const createdAt = new Date(now - (r(1) / 100) * 365 * day - (n % 1000) * 1000);
  const trial = r(2);
  // 15% not verified (no trial yet), 10% ending within 3 days, 35% active later, 30% expired, 10% active far out.
  const trialEndsAt =
    trial < 15 ? null : trial < 25 ? new Date(now + (0.1 + (r(3) / 100) * 2.8) * day) : trial < 60 ? new Date(now + (4 + r(4) / 10) * day) : trial < 90 ? new Date(now - (1 + r(5)) * day) : new Date(now + 30 * day);
  const steps = ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import'];
  const completed = r(6) < 30;
  const plan = r(7) < 75 ? 'trial' : 'pro';
  const billed = r(10);
  const subscription = plan === 'pro' ? (billed < 80 ? 'active' : billed < 90 ? 'past_due' : billed < 95 ? 'trialing' : 'canceled') : billed < 4 ? 'canceled' : '';
  return {
    accountId: randomUUID(),
    workspaceId: randomUUID(),
    // The domain's word differs from the name's, so a domain fragment finds owners, not names.
    email: `owner.${n}@${FRAGMENTS[(n * 7 + 3) % FRAGMENTS.length]}-mail.example`,
    name: `Owner ${n}`,
    workspaceName: `${['North', 'South', 'East', 'West', 'Central'][n % 5]} ${fragment} ${n}`,
    createdAt,
    verifiedAt: trialEndsAt ? createdAt : null,
    trialEndsAt,
    plan,
    status: r(8) < 8 ? 'closed' : 'active',
    completedAt: completed ? new Date(createdAt.getTime() + 3 * day) : null,
    steps: (completed ? steps : steps.slice(0, r(9) % 4)).join(','),
    subscription,
    olderSubscription: subscription !== '' && subscription !== 'canceled' && r(11) < 20,
  };
}

function columns(rows: SeedRow[]): unknown[][] {
  return [
    rows.map((x) => x.accountId),
    rows.map((x) => x.workspaceId),
    rows.map((x) => x.email),
    rows.map((x) => x.name),
    rows.map((x) => x.workspaceName),
    rows.map((x) => x.createdAt),
    rows.map((x) => x.verifiedAt),
    rows.map((x) => x.trialEndsAt),
    rows.map((x) => x.plan),
    rows.map((x) => x.status),
    rows.map((x) => x.completedAt),
    rows.map((x) => x.steps),
    rows.map((x) => x.subscription),
    rows.map((x) => x.olderSubscription),
  ];
}
