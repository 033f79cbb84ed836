import type { Db, Tx } from '../db/database.js';
import type { RateLimitRepository } from '../repositories/rate-limit-repository.js';
import { GroupCommit } from './group-commit.js';

/** What to write, in the transaction of the count, when a key's count reaches `threshold` (once per window). */
export interface Crossing {
  threshold: number;
  onCross: (trx: Tx, windowEndsAt: Date) => Promise<void>;
}

interface Hit {
  key: string;
  windowMs: number;
  crossing?: Crossing;
}

/**
 * Counts hits in windows shared by every instance. Concurrent hits are group-committed: one
 * statement per batch rather than per request. Counts stay exact: each hit learns its own position
 * in the total.
 */
export class RateLimitService {
  private readonly hits = new GroupCommit((batch: Hit[]) => this.writeHits(batch));

  constructor(
    private readonly db: Db,
    private readonly limits: RateLimitRepository,
  ) {}

  /**
   * Counts one hit. With a `crossing`, the hit that brings the key's count to the threshold runs the
   * crossing's writes (a job, an audit event) in the same transaction as the count: once per
   * window, never lost, never twice.
   */
  hit(key: string, windowMs: number, crossing?: Crossing): Promise<{ hits: number; ttlMs: number }> {
    return this.hits.submit({ key, windowMs, crossing });
  }

  /** A key's count and the time left in its window, without counting; undefined when no window runs. */
  peek(key: string): Promise<{ hits: number; ttlMs: number } | undefined> {
    return this.limits.find(key);
  }

  /** Takes back one hit of a running window (an attempt that turned out not to count). */
  release(key: string): Promise<void> {
    return this.limits.release(key);
  }

  private async writeHits(batch: Hit[]): Promise<{ hits: number; ttlMs: number }[]> {
    const countByKey = new Map<string, { count: number; windowMs: number; crossing?: Crossing }>();
    for (const { key, windowMs, crossing } of batch) {
      const known = countByKey.get(key);
      countByKey.set(key, { count: (known?.count ?? 0) + 1, windowMs, crossing: crossing ?? known?.crossing });
    }
    const hits = [...countByKey].map(([key, { count, windowMs }]) => ({ key, count, windowMs }));
    const withCrossing = [...countByKey.values()].some((entry) => entry.crossing);
    const totals = withCrossing
      ? await this.db.transaction().execute(async (trx) => {
          const totals = await this.limits.withTx(trx).hitMany(hits);
          for (const [key, { count, crossing }] of countByKey) {
            const total = totals.get(key)!;
            if (crossing && total.hits >= crossing.threshold && total.hits - count < crossing.threshold) {
              await crossing.onCross(trx, new Date(Date.now() + total.ttlMs));
            }
          }
          return totals;
        })
      : await this.limits.hitMany(hits);
    // A key's hits in this batch are the last `count` of its total, in arrival order.
    const seen = new Map<string, number>();
    return batch.map(({ key }) => {
      const total = totals.get(key)!;
      const position = total.hits - countByKey.get(key)!.count + (seen.get(key) ?? 0) + 1;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return { hits: position, ttlMs: total.ttlMs };
    });
  }
}
