-- Staged sign-up: a flow's partial data stays here until it is complete, then becomes an account,
-- its profile and workspace in one transaction. Abandoned flows with marketing consent become leads.

create table signup_flows (
  id                   uuid primary key default gen_random_uuid(),
  -- Normalised as registrations normalise it; null until given (and again once purged).
  email                text constraint signup_flows_email_length check (char_length(email) between 3 and 254),
  email_verified_at    timestamptz,
  -- The current emailed code: only its SHA-256. The code itself is derived again from the flow id
  -- and code_number by whoever holds the server secret (TokenDeriver), so no raw code is stored.
  code_kind            text constraint signup_flows_code_kind_check check (code_kind in ('verify_email', 'resume')),
  code_hash            bytea,
  code_number          integer not null default 0,
  code_attempts        integer not null default 0,
  code_expires_at      timestamptz,
  code_sent_at         timestamptz,
  -- Collected sections {profile, company, address, plan}, each validated whole before it is saved.
  data                 jsonb not null default '{}',
  version              integer not null default 0,
  -- argon2id only; the raw password is never stored or logged.
  password_hash        text,
  -- Steps ever reached, kept after purge so the funnel still counts them.
  steps_reached        text[] not null default '{}',
  marketing_consent    boolean not null default false,
  consent_text_version text,
  consent_at           timestamptz,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  -- The earlier of (last write + idle life) and (start + maximum life); moved on every write.
  expires_at           timestamptz not null,
  -- Set by the cleanup job once expires_at has passed without completion.
  expired_at           timestamptz,
  completed_at         timestamptz,
  discarded_at         timestamptz,
  account_id           uuid constraint signup_flows_account_id_fkey references accounts (id) on delete set null,
  workspace_id         uuid constraint signup_flows_workspace_id_fkey references workspaces (id) on delete set null,
  lead_exported_at     timestamptz,
  purged_at            timestamptz
);
-- Resume looks up an in-progress flow by its verified address.
create index signup_flows_email_idx on signup_flows (lower(email), created_at desc)
  where email is not null and completed_at is null and purged_at is null;
-- The cleanup job's three sweeps: expire, export leads, purge.
create index signup_flows_expiring_idx on signup_flows (expires_at)
  where expired_at is null and completed_at is null and discarded_at is null;
create index signup_flows_lead_due_idx on signup_flows (expired_at)
  where expired_at is not null and lead_exported_at is null and marketing_consent and purged_at is null;
create index signup_flows_purge_due_idx on signup_flows (coalesce(completed_at, expired_at))
  where purged_at is null and (completed_at is not null or expired_at is not null);
create index signup_flows_created_at_idx on signup_flows (created_at);

-- One cookie per device: 32 random bytes, only their SHA-256 here.
create table signup_flow_tokens (
  token_hash bytea constraint signup_flow_tokens_pkey primary key,
  flow_id    uuid not null constraint signup_flow_tokens_flow_id_fkey references signup_flows (id) on delete cascade,
  created_at timestamptz not null default now(),
  -- Set when the flow completed through this cookie: it may then only replay that completion, briefly.
  revoked_at timestamptz
);
create index signup_flow_tokens_flow_id_idx on signup_flow_tokens (flow_id);

-- One per account; the staged sign-up fills it, nothing else is required to.
create table profiles (
  account_id     uuid constraint profiles_pkey primary key constraint profiles_account_id_fkey references accounts (id) on delete cascade,
  first_name     text not null,
  last_name      text not null,
  company_name   text,
  address_line1  text,
  address_line2  text,
  city           text,
  region         text,
  postal_code    text,
  country        text constraint profiles_country_check check (country ~ '^[A-Z]{2}$'),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

-- Abandoned flows whose person consented to marketing: exported once each (flow_id is unique).
create table signup_leads (
  id                   uuid primary key default gen_random_uuid(),
  flow_id              uuid constraint signup_leads_flow_id_key unique
                       constraint signup_leads_flow_id_fkey references signup_flows (id) on delete set null,
  email                text not null,
  email_verified       boolean not null,
  first_name           text,
  last_name            text,
  company_name         text,
  last_step            text,
  started_at           timestamptz not null,
  abandoned_at         timestamptz not null,
  marketing_consent    boolean not null constraint signup_leads_consent_check check (marketing_consent),
  consent_text_version text,
  consent_at           timestamptz,
  exported_at          timestamptz not null default now()
);
create index signup_leads_abandoned_idx on signup_leads (abandoned_at desc, id desc);
