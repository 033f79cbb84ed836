-- Crash recovery for the job worker, and at most one email per intent.
-- Forward-only: never edit this file once merged; add a new numbered file instead.

-- One row per running graphile-worker pool (its id is what graphile-worker writes to locked_by),
-- refreshed on an interval. A pool silent for WORKER_DEAD_AFTER_SECONDS is dead: any live worker
-- releases the jobs it had locked and deletes its row (src/jobs/heartbeat.ts).
create table worker_heartbeats (
  worker_id    text primary key,
  hostname     text not null,
  pid          integer not null,
  started_at   timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);
create index worker_heartbeats_last_seen_at_idx on worker_heartbeats (last_seen_at);

-- Which send of an invitation is current: its link is derived from (id, send_number), so a resend
-- (send_number + 1) mints a new link and the previous one stops matching the stored hash.
alter table invitations add column send_number integer not null default 1
  constraint invitations_send_number_check check (send_number >= 1);

-- Emails known to have been accepted by the mail server, by the key of the intent they carry out
-- (also their Message-ID's left part), so a retried job never sends a delivered one again.
create table email_deliveries (
  message_key text primary key,
  sent_at     timestamptz not null default now()
);
create index email_deliveries_sent_at_idx on email_deliveries (sent_at);
