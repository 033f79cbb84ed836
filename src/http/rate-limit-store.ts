import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RateLimitService } from '../services/rate-limit-service.js';

/**
 * A @fastify/rate-limit store over PostgreSQL, so a limit holds across every instance of the
 * service. Each route gets its own key space.
 */
export function postgresRateLimitStore(limits: RateLimitService): FastifyRateLimitStoreCtor {
  class PostgresStore {
    constructor(private readonly prefix = '') {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      limits.hit(this.prefix + key, timeWindow).then(
        ({ hits, ttlMs }) => callback(null, { current: hits, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }

    child(routeOptions: { routeInfo?: { method?: string | string[]; url?: string }; groupId?: string }): PostgresStore {
      const route = routeOptions.groupId ?? `${String(routeOptions.routeInfo?.method)} ${routeOptions.routeInfo?.url}`;
      return new PostgresStore(`${route}|`);
    }
  }
  return PostgresStore as unknown as FastifyRateLimitStoreCtor;
}
