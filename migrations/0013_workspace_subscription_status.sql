-- Admin search by subscription status that stays flat as workspaces grow (issue 15, target 3).
--
-- The filter read each candidate workspace's current subscription (the live one, else the newest)
-- through a subquery, so no index could serve it together with the list's order: at 100,000
-- workspaces a rare status walked most of the table. Each workspace now keeps the status of its
-- current subscription ('none' when it never had one), with an index in the list's keyset order.
--
-- Kept by a trigger on subscriptions rather than in BillingRepository: subscriptions also disappear
-- by `on delete cascade` from billing_customers (no code runs there), and this is how migration 0010
-- keeps search_text, so every writer (gateway events, sagas, fixtures, seeds) stays right without
-- knowing about it.
alter table workspaces add column subscription_status text not null default 'none'
  constraint workspaces_subscription_status_check check (subscription_status in ('none', 'trialing', 'active', 'past_due', 'canceled'));

/** The status of a workspace's current subscription: the live one, else the newest; 'none' without any. */
create function workspace_subscription_status(ws uuid) returns text
language sql stable as $$
  select coalesce((
    select s.status from subscriptions s where s.workspace_id = ws
    order by s.status = 'canceled', s.created_at desc limit 1
  ), 'none')
$$;

create function refresh_workspace_subscription_status(ws uuid) returns void
language plpgsql as $$
begin
  -- Lock first, then read in a new statement: a transaction that waited here sees the subscription
  -- change committed meanwhile, so two concurrent changes never leave the older status behind.
  perform 1 from workspaces where id = ws for no key update;
  update workspaces set subscription_status = workspace_subscription_status(ws)
  where id = ws and subscription_status is distinct from workspace_subscription_status(ws);
end $$;

create function subscriptions_refresh_workspace_status() returns trigger
language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then perform refresh_workspace_subscription_status(old.workspace_id); end if;
  if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.workspace_id is distinct from old.workspace_id) then
    perform refresh_workspace_subscription_status(new.workspace_id);
  end if;
  return null;
end $$;

create trigger subscriptions_workspace_status_trg
  after insert or delete or update of status, workspace_id, created_at on subscriptions
  for each row execute function subscriptions_refresh_workspace_status();

update workspaces w set subscription_status = workspace_subscription_status(w.id)
where exists (select 1 from subscriptions s where s.workspace_id = w.id);

-- The list's keyset order within one status, so a rare status reads only its own workspaces; with
-- the columns the other filters read, so a pair is tested on index entries (an index-only scan).
create index workspaces_subscription_status_created_idx on workspaces (subscription_status, created_at desc, id desc)
  include (plan, status, trial_ends_at, search_text);
