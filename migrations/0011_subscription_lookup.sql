-- The admin workspace list looks up each listed workspace's current subscription (the live one,
-- else the newest) and filters on its status: one index probe per workspace instead of a scan of
-- its subscriptions in no order.
create index subscriptions_workspace_created_idx on subscriptions (workspace_id, created_at desc);
