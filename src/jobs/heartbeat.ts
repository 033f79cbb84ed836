import type { FastifyBaseLogger } from 'fastify';
import type { WorkerRegistry } from '../services/worker-registry.js';

/** A running heartbeat; `stop` waits for a tick in progress, then forgets the worker. */
export interface Heartbeat {
  stop(): Promise<void>;
}

/**
 * Every `intervalMs` (and once at start): records that `workerId` is alive, then releases the jobs
 * of workers that went silent, so a job a crashed worker held runs again on this one. Failures are
 * logged and the next tick tries again: a database blip must not stop the heartbeat for good.
 */
export function startHeartbeat(deps: { registry: WorkerRegistry; workerId: string; intervalMs: number; log: FastifyBaseLogger }): Heartbeat {
  const { registry, workerId, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      await registry.beat(workerId);
    } catch (error) {
      log.warn({ err: error, workerId }, 'worker heartbeat failed; retrying at the next tick');
    }
    try {
      const released = await registry.releaseDead();
      if (released.workerIds.length > 0) {
        log.warn({ deadWorkers: released.workerIds, jobs: released.jobs }, 'released the jobs of workers that stopped sending heartbeats');
      }
    } catch (error) {
      log.warn({ err: error }, 'sweep for dead workers failed; retrying at the next tick');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, deps.intervalMs);
    timer.unref();
  };
  running = tick().finally(schedule);

  const stop = async () => {
    clearTimeout(timer);
    await running;
    await registry.retire(workerId).catch((error) => log.warn({ err: error, workerId }, 'could not remove the worker heartbeat; it expires by itself'));
  };
  return {
    // Every caller waits for the one stop (the runner ending and main's shutdown both call it).
    stop: () => (stopped ??= stop()),
  };
}
