import { sql } from 'kysely';
import { Repository } from './repository.js';

/** What a sweep released: the dead workers and how many jobs they held. */
export interface ReleasedWorkers {
  workerIds: string[];
  jobs: number;
}

/** SQL for worker_heartbeats and for releasing the jobs of dead workers in graphile-worker's queue. */
export class WorkerHeartbeatRepository extends Repository {
  /** Records that `workerId` is alive now (by the database clock, shared by every host). */
  async beat(input: { workerId: string; hostname: string; pid: number }): Promise<void> {
    await this.db
      .insertInto('worker_heartbeats')
      .values({ worker_id: input.workerId, hostname: input.hostname, pid: input.pid })
      .onConflict((oc) => oc.column('worker_id').doUpdateSet({ last_seen_at: sql`now()` }))
      .execute();
  }

  /** How many workers recorded a heartbeat within the last `deadAfterSeconds` (the ones a sweep spares). */
  async countLive(deadAfterSeconds: number): Promise<number> {
    const row = await this.db
      .selectFrom('worker_heartbeats')
      .select((eb) => eb.fn.countAll<string>().as('live'))
      .where('last_seen_at', '>=', sql<Date>`now() - make_interval(secs => ${deadAfterSeconds})`)
      .executeTakeFirstOrThrow();
    return Number(row.live);
  }

  /** Forgets a worker that stopped cleanly (its jobs are finished or given back). */
  async delete(workerId: string): Promise<void> {
    await this.db.deleteFrom('worker_heartbeats').where('worker_id', '=', workerId).execute();
  }

  /**
   * In one statement: deletes the heartbeats older than `deadAfterSeconds` and unlocks every job
   * and queue locked by those workers, or by a locker that never recorded a heartbeat and has held
   * its lock that long (a worker killed before its first heartbeat), with graphile-worker's
   * `force_unlock_workers`. The jobs become available at once and run again on a live worker.
   */
  async releaseDead(deadAfterSeconds: number): Promise<ReleasedWorkers> {
    const { rows } = await sql<ReleasedWorkers>`
      with dead as (
        delete from worker_heartbeats where last_seen_at < now() - make_interval(secs => ${deadAfterSeconds})
        returning worker_id
      ), never_seen as (
        select distinct j.locked_by as worker_id from graphile_worker.jobs j
        where j.locked_by is not null and j.locked_at < now() - make_interval(secs => ${deadAfterSeconds})
          and not exists (select 1 from worker_heartbeats h where h.worker_id = j.locked_by)
      ), ids as (
        select array(select worker_id from dead union select worker_id from never_seen) as ids
      ), held as (
        select count(*)::int as jobs from graphile_worker.jobs j, ids where j.locked_by = any(ids.ids)
      )
      select ids.ids as "workerIds", held.jobs, graphile_worker.force_unlock_workers(ids.ids)::text as unlocked
      from ids, held where cardinality(ids.ids) > 0`.execute(this.db);
    const row = rows[0];
    return row ? { workerIds: row.workerIds, jobs: row.jobs } : { workerIds: [], jobs: 0 };
  }
}
