import type { RateLimitRepository } from '../repositories/rate-limit-repository.js';
import { GroupCommit } from './group-commit.js';

interface Hit {
  key: string;
  windowMs: number;
}

/**
 * Counts hits in windows shared by every instance. Concurrent hits are group-committed: one
 * statement per batch rather than per request. Counts stay exact: each hit learns its own position
 * in the total.
 */
export class RateLimitService {
  private readonly hits = new GroupCommit((batch: Hit[]) => this.writeHits(batch));

  constructor(private readonly limits: RateLimitRepository) {}

  hit(key: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
    return this.hits.submit({ key, windowMs });
  }

  private async writeHits(batch: Hit[]): Promise<{ hits: number; ttlMs: number }[]> {
    const countByKey = new Map<string, { count: number; windowMs: number }>();
    for (const { key, windowMs } of batch) countByKey.set(key, { count: (countByKey.get(key)?.count ?? 0) + 1, windowMs });
    const totals = await this.limits.hitMany([...countByKey].map(([key, { count, windowMs }]) => ({ key, count, windowMs })));
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
