-- Outbound events (an outbox written in the same transaction as each change) and their delivery to
-- webhook endpoints. Forward-only: never edit this file once merged.

-- The last sequence number given to an event of each workspace. A separate narrow table (not a
-- column of workspaces): incrementing it locks only this row until commit, so events of one workspace
-- get their numbers in commit order, gap-free (a rolled-back increment is rolled back too), and any
-- code path that creates workspaces needs no change (the first event inserts the row).
create table event_sequences (
  workspace_id  uuid primary key references workspaces (id) on delete cascade,
  last_sequence bigint not null constraint event_sequences_positive check (last_sequence > 0)
);

create table events (
  id           uuid primary key,
  type         text not null constraint events_type_format check (type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
  occurred_at  timestamptz not null default clock_timestamp(),
  -- A workspace's events go with it; events about no workspace (an account's verification, an
  -- abandoned sign-up) carry neither a workspace nor a sequence.
  workspace_id uuid references workspaces (id) on delete cascade,
  sequence     bigint,
  data         jsonb not null default '{}',
  constraint events_sequence_with_workspace check ((workspace_id is null) = (sequence is null)),
  constraint events_workspace_sequence_key unique (workspace_id, sequence)
);
create index events_occurred_at_idx on events (occurred_at, id);

create table webhook_endpoints (
  id                  uuid primary key default gen_random_uuid(),
  url                 text not null constraint webhook_endpoints_url_length check (char_length(url) between 8 and 2000),
  description         text constraint webhook_endpoints_description_length check (char_length(description) <= 500),
  -- null: every event; otherwise exact types and `prefix.*` patterns
  event_types         text[],
  enabled             boolean not null default true,
  disabled_reason     text,
  -- AES-256-GCM (iv, tag, ciphertext) under a key derived from TOKEN_SECRET: the service must sign,
  -- so the secret cannot be kept as a hash only.
  secret              bytea not null,
  previous_secret     bytea,
  previous_expires_at timestamptz,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);
create index webhook_endpoints_created_idx on webhook_endpoints (created_at desc, id desc);

create table webhook_deliveries (
  id              uuid primary key default gen_random_uuid(),
  event_id        uuid not null references events (id) on delete cascade,
  endpoint_id     uuid not null references webhook_endpoints (id) on delete cascade,
  status          text not null default 'pending'
                  constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed', 'cancelled')),
  attempts        integer not null default 0,
  next_attempt_at timestamptz default now(),
  -- set while an attempt is in flight, so a manual retry and the job never send at the same time
  locked_until    timestamptz,
  last_attempt_at timestamptz,
  delivered_at    timestamptz,
  created_at      timestamptz not null default now(),
  constraint webhook_deliveries_event_endpoint_key unique (event_id, endpoint_id)
);
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc, id desc);
create index webhook_deliveries_created_idx on webhook_deliveries (created_at) where status <> 'pending';

create table webhook_attempts (
  id               uuid primary key default gen_random_uuid(),
  delivery_id      uuid not null references webhook_deliveries (id) on delete cascade,
  attempted_at     timestamptz not null default now(),
  duration_ms      integer not null,
  status_code      integer,
  error            text,
  response_excerpt text
);
create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, attempted_at);
