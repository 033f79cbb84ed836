-- Admin search with `q` and a second filter that stays flat as workspaces grow (issue 15, target 3).
--
-- A fragment shared by 1 workspace in 20, paired with a filter that keeps 1 in 4 (plan=pro, an
-- expired trial, a completed onboarding), leaves about 1 candidate in 80: each page of 25 walked
-- some 2,000 workspaces in the list's order and fetched every one from the heap to test it
-- (about 5,000 buffers a page at 100,000 workspaces, against about 650 for an unfiltered page).
-- The trigram index cannot help there: it yields 5,000 rows in no order, to be fetched and sorted
-- on every page. This index has the list's keyset order and carries every column the workspace
-- filters read, so the list picks its page with an index-only scan and visits the heap for the 25
-- rows it returns (about 650 buffers a page for every pair). It replaces the plain index on the same
-- keys, which it serves as well.
create index workspaces_admin_list_idx on workspaces (created_at desc, id desc)
  include (plan, status, trial_ends_at, subscription_status, search_text);
drop index workspaces_created_at_id_idx;

-- Index-only scans skip the heap only for pages the visibility map marks all-visible, which
-- vacuum does. The defaults wait for 20% of the table to change; at 1% the map stays current.
alter table workspaces set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
