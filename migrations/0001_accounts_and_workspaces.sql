-- Accounts, sessions, workspaces and everything the onboarding flows keep.
-- Forward-only: never edit this file once merged; add a new numbered file instead.

create table accounts (
  id                uuid primary key default gen_random_uuid(),
  email             text not null constraint accounts_email_length check (char_length(email) between 3 and 254),
  name              text not null,
  password_hash     text not null,
  email_verified_at timestamptz,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);
-- Unique regardless of letter case; the repository maps a violation to `email_taken`.
create unique index accounts_email_key on accounts (lower(email));

create table sessions (
  id         uuid primary key default gen_random_uuid(),
  token_hash bytea not null constraint sessions_token_hash_key unique,
  account_id uuid not null references accounts (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_account_id_idx on sessions (account_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table email_verifications (
  id             uuid primary key default gen_random_uuid(),
  account_id     uuid not null references accounts (id) on delete cascade,
  token_hash     bytea not null constraint email_verifications_token_hash_key unique,
  created_at     timestamptz not null default now(),
  expires_at     timestamptz not null,
  -- set once the email went out, so a second run of the job does not send it again
  sent_at        timestamptz,
  verified_at    timestamptz,
  invalidated_at timestamptz
);
create index email_verifications_account_id_idx on email_verifications (account_id, created_at desc);

create table workspaces (
  id             uuid primary key default gen_random_uuid(),
  name           text not null,
  plan           text not null default 'trial',
  trial_ends_at  timestamptz,
  initialized_at timestamptz,
  settings       jsonb,
  status         text not null default 'active' constraint workspaces_status_check check (status in ('active', 'closed')),
  closed_at      timestamptz,
  created_at     timestamptz not null default now()
);
create index workspaces_created_at_id_idx on workspaces (created_at desc, id desc);
create index workspaces_trial_ends_at_idx on workspaces (trial_ends_at) where trial_ends_at is not null;

create table workspace_members (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  account_id   uuid not null references accounts (id) on delete cascade,
  role         text not null constraint workspace_members_role_check check (role in ('owner', 'admin', 'member')),
  joined_at    timestamptz not null default now(),
  constraint workspace_members_pkey primary key (workspace_id, account_id)
);
create index workspace_members_account_id_idx on workspace_members (account_id);

create table onboarding_progress (
  workspace_id      uuid primary key references workspaces (id) on delete cascade,
  completed_steps   text[] not null default '{}',
  -- step key -> ISO time of its first completion, so repeats keep the first time
  step_completed_at jsonb not null default '{}',
  current_step      text,
  data              jsonb not null default '{}',
  version           integer not null default 0,
  completed_at      timestamptz,
  updated_at        timestamptz not null default now()
);

create table invitations (
  id          uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id) on delete cascade,
  email       text not null,
  role        text not null constraint invitations_role_check check (role in ('owner', 'admin', 'member')),
  token_hash  bytea not null constraint invitations_token_hash_key unique,
  status      text not null default 'pending'
              constraint invitations_status_check check (status in ('pending', 'accepted', 'revoked', 'expired')),
  invited_by  uuid references accounts (id) on delete set null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  sent_at     timestamptz not null default now(),
  accepted_at timestamptz,
  accepted_by uuid references accounts (id) on delete set null,
  revoked_at  timestamptz
);
-- One pending invitation per address per workspace.
create unique index invitations_pending_email_key on invitations (workspace_id, lower(email)) where status = 'pending';
create index invitations_created_at_idx on invitations (created_at);

-- Responses kept for Idempotency-Key replays (24 hours).
create table idempotency_keys (
  scope        text not null,
  key          text not null,
  request_hash bytea not null,
  account_id   uuid references accounts (id) on delete cascade,
  response     jsonb,
  created_at   timestamptz not null default now(),
  constraint idempotency_keys_pkey primary key (scope, key)
);
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

-- Fixed-window counters shared by every instance; losing them in a crash only resets windows.
create unlogged table rate_limits (
  key            text primary key,
  hits           integer not null,
  window_ends_at timestamptz not null
);

create table audit_events (
  id           uuid primary key default gen_random_uuid(),
  occurred_at  timestamptz not null default clock_timestamp(),
  actor_type   text not null constraint audit_events_actor_type_check check (actor_type in ('account', 'admin', 'system')),
  actor_id     text,
  action       text not null,
  workspace_id uuid references workspaces (id) on delete set null,
  account_id   uuid references accounts (id) on delete set null,
  data         jsonb not null default '{}'
);
create index audit_events_workspace_idx on audit_events (workspace_id, occurred_at desc, id desc);
create index audit_events_occurred_at_idx on audit_events (occurred_at desc, id desc);
