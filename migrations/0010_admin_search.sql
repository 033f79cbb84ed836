-- Admin search that stays flat as workspaces grow (issue 15).
--
-- `q` matches a fragment of the workspace name or of an owner's email. Matching the owner's email
-- needed a join per candidate row, and no index could serve a substring: the list read every
-- workspace. Each workspace now keeps its searchable text (name and owner emails, lower case) in
-- one column with a trigram index, kept current by triggers, so every writer (sign-up, invitations,
-- role changes, future renames) keeps it right without knowing about it.
create extension if not exists pg_trgm;

alter table workspaces add column search_text text not null default '';

/** The searchable text of a workspace: its name and its owners' emails, lower case. */
create function workspace_search_text(ws uuid, ws_name text) returns text
language sql stable as $$
  select lower(ws_name) || coalesce(' ' || (
    select string_agg(lower(a.email), ' ' order by a.email)
    from workspace_members m join accounts a on a.id = m.account_id
    where m.workspace_id = ws and m.role = 'owner'
  ), '')
$$;

create function workspaces_set_search_text() returns trigger
language plpgsql as $$
begin
  new.search_text := workspace_search_text(new.id, new.name);
  return new;
end $$;

create trigger workspaces_search_text_trg
  before insert or update of name on workspaces
  for each row execute function workspaces_set_search_text();

create function refresh_workspace_search_text(ws uuid) returns void
language sql as $$
  update workspaces w set search_text = workspace_search_text(w.id, w.name)
  where w.id = ws and w.search_text is distinct from workspace_search_text(w.id, w.name)
$$;

create function workspace_members_refresh_search_text() returns trigger
language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then perform refresh_workspace_search_text(old.workspace_id); end if;
  if tg_op in ('INSERT', 'UPDATE') and (tg_op = 'INSERT' or new.workspace_id is distinct from old.workspace_id) then
    perform refresh_workspace_search_text(new.workspace_id);
  end if;
  return null;
end $$;

create trigger workspace_members_search_text_trg
  after insert or delete or update of role, workspace_id on workspace_members
  for each row execute function workspace_members_refresh_search_text();

create function accounts_refresh_search_text() returns trigger
language plpgsql as $$
begin
  perform refresh_workspace_search_text(m.workspace_id) from workspace_members m where m.account_id = new.id and m.role = 'owner';
  return null;
end $$;

create trigger accounts_search_text_trg
  after update of email on accounts
  for each row when (old.email is distinct from new.email) execute function accounts_refresh_search_text();

update workspaces set search_text = workspace_search_text(id, name);

create index workspaces_search_text_trgm_idx on workspaces using gin (search_text gin_trgm_ops);
