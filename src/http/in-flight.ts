import type { FastifyRequest } from 'fastify';
import type { App } from './types.js';

const DRAIN_LIMIT_MS = 8_000;

/**
 * Counts requests from arrival until their answer is handed to onSend, which Fastify runs whether or
 * not the client is still there. The server's own close waits only for open connections, so a request
 * whose client hung up (a registration still hashing its password) would otherwise outlive it and find
 * the pool closed. Closing the app now waits, after the server has closed, until the count is zero
 * (at most `limitMs`, then it warns and goes on), whatever the load.
 */
export function drainInFlightOnClose(app: App, limitMs = DRAIN_LIMIT_MS): void {
  const open = new WeakSet<FastifyRequest>();
  let count = 0;
  let drained: (() => void) | undefined;
  app.addHook('onRequest', (request, _reply, done) => {
    open.add(request);
    count += 1;
    done();
  });
  // Errors met before routing are sent without an onRequest: only a counted request is let go.
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (open.delete(request) && --count === 0) drained?.();
    done(null, payload);
  });
  app.addHook('onClose', async () => {
    if (count === 0) return;
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), limitMs).unref());
    const idle = new Promise<'idle'>((resolve) => (drained = () => resolve('idle')));
    if ((await Promise.race([idle, timer])) === 'timeout') app.log.warn({ requests: count }, 'closing with requests still running');
  });
}
