import { sql } from 'kysely';
import type { QueueSnapshot } from '../metrics/metrics.js';
import { Repository } from './repository.js';

/** The job queue as the metrics see it, per task: graphile-worker's `jobs` view, read in one statement. */
export class QueueStatsRepository extends Repository {
  async snapshot(): Promise<QueueSnapshot['byTask']> {
    const { rows } = await sql<{ task: string; ready: number; running: number; scheduled: number; failed: number; oldest: number | null }>`
      select task_identifier as task,
        (count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now()))::int as ready,
        (count(*) filter (where locked_at is not null))::int as running,
        (count(*) filter (where locked_at is null and attempts < max_attempts and run_at > now()))::int as scheduled,
        (count(*) filter (where locked_at is null and attempts >= max_attempts))::int as failed,
        extract(epoch from now() - min(run_at) filter (where locked_at is null and attempts < max_attempts and run_at <= now()))::float8 as oldest
      from graphile_worker.jobs
      group by task_identifier`.execute(this.db);
    return rows.map(({ task, ready, running, scheduled, failed, oldest }) => ({ task, ready, running, scheduled, failed, oldestReadyAgeSeconds: Math.max(0, oldest ?? 0) }));
  }
}
