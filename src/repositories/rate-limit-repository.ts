import { sql } from 'kysely';
import { Repository } from './repository.js';

/** SQL for the shared fixed-window rate-limit counters. */
export class RateLimitRepository extends Repository {
  /** Counts one hit on `key` in one statement; a window that has ended starts again at 1. */
  async hit(key: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
    const { rows } = await sql<{ hits: number; ttl_ms: number }>`
      insert into rate_limits as r (key, hits, window_ends_at)
      values (${key}, 1, now() + make_interval(secs => ${windowMs / 1000}))
      on conflict (key) do update set
        hits = case when r.window_ends_at <= now() then 1 else r.hits + 1 end,
        window_ends_at = case when r.window_ends_at <= now() then excluded.window_ends_at else r.window_ends_at end
      returning hits, ceil(extract(epoch from window_ends_at - now()) * 1000)::int as ttl_ms`.execute(this.db);
    const row = rows[0]!;
    return { hits: row.hits, ttlMs: Math.max(0, row.ttl_ms) };
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
