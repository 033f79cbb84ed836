-- One row per trial email decided: the primary key makes each (workspace, kind, trial end) happen
-- once, however often or concurrently the lifecycle job runs; an extension is a new trial end.
create table trial_notifications (
  workspace_id  uuid not null references workspaces (id) on delete cascade,
  kind          text not null constraint trial_notifications_kind_check check (kind in ('ending_soon', 'ended')),
  trial_ends_at timestamptz not null,
  created_at    timestamptz not null default now(),
  constraint trial_notifications_pkey primary key (workspace_id, kind, trial_ends_at)
);

-- Admin filters and stats.
create index workspaces_status_created_idx on workspaces (status, created_at desc, id desc);
create index invitations_workspace_pending_idx on invitations (workspace_id) where status = 'pending';
create index workspace_members_owner_idx on workspace_members (workspace_id, joined_at) where role = 'owner';
create index audit_events_action_idx on audit_events (action, occurred_at desc);
create index accounts_verified_at_idx on accounts (email_verified_at) where email_verified_at is not null;
