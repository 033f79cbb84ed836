import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';
import type { RateLimitService } from '../services/rate-limit-service.js';
import type { App } from './types.js';

/** The 429 of every rate limit, with the seconds left in the window as Retry-After. */
export function rateLimited(ttlMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError('rate_limited', `Too many requests. Try again in ${seconds} seconds.`, { retryAfterSeconds: seconds });
}

/** The per-IP limit of new-link requests by address, shared by this route and the /verify-email page's form. */
export function verificationRequestLimit(resendsPerMinute: number) {
  return { max: resendsPerMinute, timeWindow: 60_000, groupId: 'verification-requests' };
}

/**
 * A second limit on a route (@fastify/rate-limit runs one per request): `max` requests per client
 * IP (an IPv6 address by its /64, as the plugin does) per `timeWindowMs`, counted under `groupId` in the shared
 * store, whatever the body says. Checked on request, before the body is read.
 */
export function perIpLimit(app: App, groupId: string, max: number, timeWindowMs: number): onRequestAsyncHookHandler {
  const check = app.createRateLimit({ max, timeWindow: timeWindowMs, groupId } as Parameters<App['createRateLimit']>[0]);
  return async (request) => {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) throw rateLimited(result.ttl);
  };
}

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
