import { GatewayUnavailableError } from './payment-gateway.js';

/** How a gateway call is retried: attempts in all, and the first wait in ms. */
export interface GatewayRetryPolicy {
  maxAttempts: number;
  baseMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `call` until it succeeds, fails with anything but GatewayUnavailableError, or has been tried
 * `maxAttempts` times; then rethrows the last error. Between attempts it waits with exponential
 * backoff and jitter, `baseMs` x 2^(attempt-1) x a random factor in [0.5, 1.5), as Stripe advises
 * for retried requests (docs.stripe.com/error-low-level, "Idempotency" and retries), so instances
 * that met the same outage do not retry in step. The caller keeps the idempotency key the same on
 * every attempt. `afterWait` runs before each retry (a saga's heartbeat).
 */
export async function retryWhileUnavailable<T>(policy: GatewayRetryPolicy, call: () => Promise<T>, afterWait?: () => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof GatewayUnavailableError) || attempt >= policy.maxAttempts) throw error;
      await sleep(policy.baseMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      await afterWait?.();
    }
  }
}
