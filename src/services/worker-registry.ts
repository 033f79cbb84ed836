import os from 'node:os';
import type { ReleasedWorkers, WorkerHeartbeatRepository } from '../repositories/worker-heartbeat-repository.js';

/**
 * Which job workers are alive, kept in PostgreSQL: each records a heartbeat, and any of them
 * releases the locked jobs of one that went silent (killed, frozen, its host gone), so those jobs
 * run again within seconds instead of after graphile-worker's own four-hour lock expiry.
 */
export class WorkerRegistry {
  constructor(
    private readonly heartbeats: WorkerHeartbeatRepository,
    private readonly deadAfterSeconds: number,
  ) {}

  /** Records that the worker (graphile-worker's pool id, the value of `locked_by`) is alive. */
  async beat(workerId: string): Promise<void> {
    await this.heartbeats.beat({ workerId, hostname: os.hostname(), pid: process.pid });
  }

  /** Releases the jobs of every worker silent for WORKER_DEAD_AFTER_SECONDS. */
  async releaseDead(): Promise<ReleasedWorkers> {
    return this.heartbeats.releaseDead(this.deadAfterSeconds);
  }

  /** How many workers are alive now: their heartbeat is younger than WORKER_DEAD_AFTER_SECONDS. */
  async countLive(): Promise<number> {
    return this.heartbeats.countLive(this.deadAfterSeconds);
  }

  /** Forgets a worker that stopped cleanly. */
  async retire(workerId: string): Promise<void> {
    await this.heartbeats.delete(workerId);
  }
}
