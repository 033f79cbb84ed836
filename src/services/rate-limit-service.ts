import type { RateLimitRepository } from '../repositories/rate-limit-repository.js';

/** Counts hits in windows shared by every instance of the service. */
export class RateLimitService {
  constructor(private readonly limits: RateLimitRepository) {}

  hit(key: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
    return this.limits.hit(key, windowMs);
  }
}
