import type pg from 'pg';
import { pendingMigrations } from '../db/migrator.js';

/** Readiness: the database answers and every migration is applied. */
export class HealthService {
  constructor(private readonly pool: pg.Pool) {}

  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    try {
      const pending = await pendingMigrations(this.pool);
      if (pending.length > 0) return { ready: false, reason: `${pending.length} migration(s) not applied` };
      return { ready: true };
    } catch {
      return { ready: false, reason: 'database unreachable' };
    }
  }
}
