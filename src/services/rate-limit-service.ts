import type { RateLimitRepository } from '../repositories/rate-limit-repository.js';

interface Waiting {
  key: string;
  windowMs: number;
  resolve(result: { hits: number; ttlMs: number }): void;
  reject(error: unknown): void;
}

/**
 * Counts hits in windows shared by every instance. Hits that arrive while a write is in flight are
 * written together in the next one (like a group commit), so under load there is one statement per
 * batch rather than per request. Counts stay exact: each hit learns its own position in the total.
 */
export class RateLimitService {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly limits: RateLimitRepository) {}

  hit(key: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, windowMs, resolve, reject });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) await this.write(this.waiting.splice(0));
    } finally {
      this.writing = false;
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    const byKey = new Map<string, Waiting[]>();
    for (const hit of batch) byKey.set(hit.key, [...(byKey.get(hit.key) ?? []), hit]);
    try {
      const totals = await this.limits.hitMany([...byKey].map(([key, hits]) => ({ key, count: hits.length, windowMs: hits[0]!.windowMs })));
      for (const [key, hits] of byKey) {
        const total = totals.get(key)!;
        // The batch's hits are the last `hits.length` of the total, in arrival order.
        hits.forEach((hit, i) => hit.resolve({ hits: total.hits - hits.length + i + 1, ttlMs: total.ttlMs }));
      }
    } catch (error) {
      for (const hit of batch) hit.reject(error);
    }
  }
}
