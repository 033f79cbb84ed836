import { sql } from 'kysely';
import { Repository } from './repository.js';

/** SQL for the shared fixed-window rate-limit counters. */
export class RateLimitRepository extends Repository {
  /**
   * Adds `count` hits to each key (distinct keys) in one statement; a window that has ended starts
   * again. Returns each key's total after the addition and the time left in its window.
   */
  async hitMany(hits: { key: string; count: number; windowMs: number }[]): Promise<Map<string, { hits: number; ttlMs: number }>> {
    const { rows } = await sql<{ key: string; hits: number; ttl_ms: number }>`
      insert into rate_limits as r (key, hits, window_ends_at)
      select key, count, now() + make_interval(secs => window_ms / 1000.0)
      from unnest(${hits.map((h) => h.key)}::text[], ${hits.map((h) => h.count)}::int[], ${hits.map((h) => h.windowMs)}::int[]) as t(key, count, window_ms)
      on conflict (key) do update set
        hits = case when r.window_ends_at <= now() then excluded.hits else r.hits + excluded.hits end,
        window_ends_at = case when r.window_ends_at <= now() then excluded.window_ends_at else r.window_ends_at end
      returning key, hits, ceil(extract(epoch from window_ends_at - now()) * 1000)::int as ttl_ms`.execute(this.db);
    return new Map(rows.map((row) => [row.key, { hits: row.hits, ttlMs: Math.max(0, row.ttl_ms) }]));
  }

  /** A key's count and the time left in its window, while the window runs. */
  async find(key: string): Promise<{ hits: number; ttlMs: number } | undefined> {
    const { rows } = await sql<{ hits: number; ttl_ms: number }>`
      select hits, ceil(extract(epoch from window_ends_at - now()) * 1000)::int as ttl_ms
      from rate_limits where key = ${key} and window_ends_at > now()`.execute(this.db);
    const row = rows[0];
    return row ? { hits: row.hits, ttlMs: Math.max(0, row.ttl_ms) } : undefined;
  }

  /** Takes one hit back from a key whose window still runs. */
  async release(key: string): Promise<void> {
    await sql`update rate_limits set hits = hits - 1 where key = ${key} and hits > 0 and window_ends_at > now()`.execute(this.db);
  }

  /** Deletes up to `limit` counters whose window has ended. */
  async deleteExpired(limit: number): Promise<number> {
    const result = await sql`
      delete from rate_limits where key in (
        select key from rate_limits where window_ends_at <= now() limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
