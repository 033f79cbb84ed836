-- The admin console lists a workspace's billing sagas (newest first) on its detail page.
create index billing_sagas_workspace_idx on billing_sagas (workspace_id, created_at desc);
