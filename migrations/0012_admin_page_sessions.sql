-- The admin pages' sessions, kept server-side so that signing out (or changing ADMIN_TOKEN) ends
-- them: a copied cookie stops working at once instead of living on until it expires. Only the
-- SHA-256 of the cookie's random token is stored; admin_token_mac is an HMAC of the ADMIN_TOKEN
-- that was current at sign-in, so a rotated token refuses every session opened with the old one.
create table admin_page_sessions (
  id              uuid primary key default gen_random_uuid(),
  token_hash      bytea not null constraint admin_page_sessions_token_hash_key unique,
  admin_token_mac bytea not null,
  actor           text not null constraint admin_page_sessions_actor_check check (length(actor) between 1 and 100),
  created_at      timestamptz not null default now(),
  expires_at      timestamptz not null
);
-- The purge job deletes expired sessions oldest first.
create index admin_page_sessions_expires_at_idx on admin_page_sessions (expires_at);
