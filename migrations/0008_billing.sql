-- Billing: gateway customers, cards and subscriptions of workspaces; the saga journal that keeps our
-- rows and the payment gateway's objects in step; inbound gateway events; the local gateway's objects.
-- Never a card number or a security code: a card is its gateway id, brand, last 4 and expiry.

create table billing_customers (
  id           uuid primary key default gen_random_uuid(),
  -- restrict: a workspace with a gateway customer is closed, never deleted, or the customer would be orphaned
  workspace_id uuid not null references workspaces (id) on delete restrict,
  gateway      text not null constraint billing_customers_gateway_check check (gateway in ('stripe', 'local')),
  customer_id  text not null constraint billing_customers_customer_id_key unique,
  created_at   timestamptz not null default now(),
  constraint billing_customers_workspace_id_key unique (workspace_id)
);

create table payment_methods (
  id           uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id) on delete cascade,
  customer_id  text not null references billing_customers (customer_id) on delete cascade,
  gateway_id   text not null constraint payment_methods_gateway_id_key unique,
  brand        text not null,
  last4        text not null constraint payment_methods_last4_check check (last4 ~ '^[0-9]{4}$'),
  exp_month    smallint not null constraint payment_methods_exp_month_check check (exp_month between 1 and 12),
  exp_year     smallint not null,
  is_default   boolean not null default false,
  created_at   timestamptz not null default now()
);
create unique index payment_methods_default_key on payment_methods (workspace_id) where is_default;

create table subscriptions (
  id                   uuid primary key default gen_random_uuid(),
  workspace_id         uuid not null references workspaces (id) on delete cascade,
  customer_id          text not null references billing_customers (customer_id) on delete cascade,
  gateway_id           text not null constraint subscriptions_gateway_id_key unique,
  plan                 text not null,
  status               text not null constraint subscriptions_status_check check (status in ('trialing', 'active', 'past_due', 'canceled')),
  trial_end            timestamptz,
  current_period_end   timestamptz,
  cancel_at_period_end boolean not null default false,
  canceled_at          timestamptz,
  -- the gateway time of the newest state applied (event `created`), so an older event never moves it back
  gateway_updated_at   timestamptz not null,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now()
);
-- At most one subscription that is not canceled per workspace.
create unique index subscriptions_workspace_live_key on subscriptions (workspace_id) where status <> 'canceled';
create index subscriptions_status_idx on subscriptions (status, workspace_id);

create table billing_sagas (
  id           uuid primary key default gen_random_uuid(),
  kind         text not null constraint billing_sagas_kind_check check (kind in ('workspace_subscription', 'payment_method_change', 'signup')),
  -- what it is for: the workspace id, or the sign-up flow id
  subject_id   text not null,
  workspace_id uuid references workspaces (id) on delete set null,
  input        jsonb not null,
  state        text not null default 'running'
               constraint billing_sagas_state_check check (state in ('running', 'requires_action', 'pivoted', 'completed', 'failed')),
  compensating boolean not null default false,
  attempts     integer not null default 0,
  last_error   text,
  -- completed: the result callers get; failed: the error they get {code, detail, extra}
  outcome      jsonb,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  finished_at  timestamptz
);
-- One saga at a time per subject: five simultaneous requests join the same saga.
create unique index billing_sagas_active_subject_key on billing_sagas (kind, subject_id) where state in ('running', 'requires_action', 'pivoted');
create index billing_sagas_stalled_idx on billing_sagas (updated_at) where state in ('running', 'requires_action', 'pivoted');

create table billing_saga_steps (
  saga_id           uuid not null references billing_sagas (id) on delete cascade,
  step              text not null,
  -- derived from the saga and the step, so a retry after a crash replays instead of creating twice
  idempotency_key   text not null constraint billing_saga_steps_idempotency_key_key unique,
  gateway_object_id text,
  data              jsonb not null default '{}',
  status            text not null constraint billing_saga_steps_status_check
                    check (status in ('started', 'requires_action', 'succeeded', 'failed', 'compensated')),
  error             text,
  started_at        timestamptz not null default now(),
  finished_at       timestamptz,
  compensated_at    timestamptz,
  constraint billing_saga_steps_pkey primary key (saga_id, step)
);

create table gateway_events (
  id           uuid primary key default gen_random_uuid(),
  event_id     text not null constraint gateway_events_event_id_key unique,
  gateway      text not null constraint gateway_events_gateway_check check (gateway in ('stripe', 'local')),
  type         text not null,
  object_id    text,
  -- the event as we understood it (no card data ever appears in these objects)
  payload      jsonb not null,
  created_at   timestamptz not null,
  received_at  timestamptz not null default now(),
  processed_at timestamptz,
  attempts     integer not null default 0,
  outcome      text,
  last_error   text
);
create index gateway_events_pending_idx on gateway_events (object_id) where processed_at is null;

-- The local gateway (used when STRIPE_SECRET_KEY is unset) keeps its objects here, like Stripe would.
create table local_gateway_objects (
  id         text primary key,
  type       text not null,
  data       jsonb not null,
  created_at timestamptz not null default now(),
  deleted_at timestamptz
);
create table local_gateway_requests (
  idempotency_key text primary key,
  request_hash    text not null,
  -- {status, body}: replayed for the same key and parameters
  response        jsonb not null,
  created_at      timestamptz not null default now()
);
