import { EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerEvents } from 'graphile-worker';
import type pg from 'pg';

/** What the queue holds at one moment, per task (see QueueStatsRepository). */
export interface QueueSnapshot {
  byTask: {
    task: string;
    ready: number;
    running: number;
    scheduled: number;
    failed: number;
    /** Seconds the oldest job that is due, and not running, has waited; 0 when none waits. */
    oldestReadyAgeSeconds: number;
  }[];
  /** Workers whose heartbeat is younger than WORKER_DEAD_AFTER_SECONDS: 0 means nothing runs jobs. */
  liveWorkers: number;
}

const QUEUE_STATES = ['ready', 'running', 'scheduled', 'failed'] as const;
/** Job and request durations: from a millisecond route to a slow SMTP send or provisioning call. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Waiting for a pooled connection: usually none at all, so the buckets start low. */
const ACQUIRE_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/**
 * The process's Prometheus metrics, in a registry of its own (two instances in one process, as in
 * the tests, never share series). Everything the service measures goes through here; gauges that
 * need the database (queue depth) are read only when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly rateLimited: Counter<'route'>;
  private readonly jobDuration: Histogram<'task' | 'outcome'>;
  private readonly mail: Counter<'outcome'>;
  private readonly poolAcquire: Histogram<'pool'>;
  private readonly pools = new Map<string, pg.Pool>();
  private queueReader: (() => Promise<QueueSnapshot>) | undefined;
  private queueRead: Promise<QueueSnapshot | undefined> | undefined;
  /** Pass to graphile-worker (`events`) so every job it runs is counted and timed. */
  readonly jobEvents: WorkerEvents;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route pattern and status: duration; the _count series counts requests.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.rateLimited = new Counter({ name: 'http_rate_limited_total', help: 'Requests answered 429 (a rate limit or cooldown), by route pattern.', labelNames: ['route'], registers });
    this.jobDuration = new Histogram({
      name: 'worker_job_duration_seconds',
      help: 'Job attempts by task and outcome (success; error: will be retried; failed: no attempts left): duration; _count counts attempts.',
      labelNames: ['task', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.mail = new Counter({ name: 'mail_messages_total', help: 'Emails handed to the mail server, by outcome (sent, failed).', labelNames: ['outcome'], registers });
    for (const outcome of ['sent', 'failed']) this.mail.inc({ outcome }, 0);
    this.poolAcquire = new Histogram({
      name: 'db_pool_acquire_duration_seconds',
      help: 'Time spent waiting for a database connection from the pool, by pool.',
      labelNames: ['pool'],
      buckets: ACQUIRE_BUCKETS,
      registers,
    });
    const pools = this.pools;
    new Gauge({
      name: 'db_pool_connections',
      help: 'Open connections of each pool, by state (idle, busy).',
      labelNames: ['pool', 'state'],
      registers,
      collect() {
        for (const [name, pool] of pools) {
          this.set({ pool: name, state: 'idle' }, pool.idleCount);
          this.set({ pool: name, state: 'busy' }, pool.totalCount - pool.idleCount);
        }
      },
    });
    new Gauge({
      name: 'db_pool_waiting_clients',
      help: 'Callers waiting for a connection from each pool right now.',
      labelNames: ['pool'],
      registers,
      collect() {
        for (const [name, pool] of pools) this.set({ pool: name }, pool.waitingCount);
      },
    });
    new Gauge({
      name: 'db_pool_max_connections',
      help: 'The most connections each pool opens.',
      labelNames: ['pool'],
      registers,
      collect() {
        for (const [name, pool] of pools) this.set({ pool: name }, pool.options.max);
      },
    });
    const snapshot = () => this.queueSnapshot();
    new Gauge({
      name: 'worker_queue_jobs',
      help: 'Jobs in the queue by task and state: ready (due, waiting for a worker), running (locked), scheduled (later, or a retry backing off), failed (no attempts left).',
      labelNames: ['task', 'state'],
      registers,
      async collect() {
        this.reset();
        const queue = await snapshot();
        for (const row of queue?.byTask ?? []) for (const state of QUEUE_STATES) this.set({ task: row.task, state }, row[state]);
      },
    });
    new Gauge({
      name: 'worker_queue_oldest_ready_job_age_seconds',
      help: 'How long the oldest due job of each task has waited for a worker (0 when none waits).',
      labelNames: ['task'],
      registers,
      async collect() {
        this.reset();
        const queue = await snapshot();
        for (const row of queue?.byTask ?? []) this.set({ task: row.task }, row.oldestReadyAgeSeconds);
      },
    });
    new Gauge({
      name: 'worker_live_workers',
      help: 'Job workers alive now, across every host: heartbeats younger than WORKER_DEAD_AFTER_SECONDS (0: no job runs, or the database did not answer).',
      registers,
      async collect() {
        this.set((await snapshot())?.liveWorkers ?? 0);
      },
    });
    this.jobEvents = this.timeJobs();
  }

  /** Records one answered request; `route` is the route pattern (never the raw URL). */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: statusCode }, seconds);
    if (statusCode === 429) this.rateLimited.inc({ route });
  }

  /** Counts one email handed to the mail server. */
  observeMail(outcome: 'sent' | 'failed'): void {
    this.mail.inc({ outcome });
  }

  /** Reports `pool`'s connections under `name`, and times every checkout from it. */
  trackPool(name: string, pool: pg.Pool): void {
    this.pools.set(name, pool);
    const connect = pool.connect.bind(pool) as (callback?: unknown) => unknown;
    const acquire = this.poolAcquire.labels({ pool: name });
    // graphile-worker and the Kysely adapter both check out with the promise form; the callback form
    // (pool.query) is passed through untimed.
    (pool as { connect: unknown }).connect = (callback?: unknown) => {
      if (callback) return connect(callback);
      const end = acquire.startTimer();
      return (connect() as Promise<pg.PoolClient>).finally(end);
    };
  }

  /** Reads the queue (one query) only when scraped; a failed read leaves the queue series absent. */
  trackQueue(read: () => Promise<QueueSnapshot>): void {
    this.queueReader = read;
  }

  /** The text a Prometheus scrape gets, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    try {
      return { body: await this.registry.metrics(), contentType: this.registry.contentType };
    } finally {
      this.queueRead = undefined;
    }
  }

  /** One queue read per scrape, shared by the gauges that need it. */
  private queueSnapshot(): Promise<QueueSnapshot | undefined> {
    if (!this.queueReader) return Promise.resolve(undefined);
    this.queueRead ??= this.queueReader().catch(() => undefined);
    return this.queueRead;
  }

  private timeJobs(): WorkerEvents {
    const events = new EventEmitter() as WorkerEvents;
    const started = new Map<string, number>();
    const observe = (job: { id: string; task_identifier: string }, outcome: 'success' | 'error' | 'failed') => {
      const start = started.get(job.id);
      started.delete(job.id);
      this.jobDuration.observe({ task: job.task_identifier, outcome }, start === undefined ? 0 : (performance.now() - start) / 1000);
    };
    events.on('job:start', ({ job }) => void started.set(job.id, performance.now()));
    events.on('job:success', ({ job }) => observe(job, 'success'));
    // job:failed follows job:error when no attempts are left; count that attempt once, as failed.
    events.on('job:error', ({ job }) => {
      if (job.attempts < job.max_attempts) observe(job, 'error');
    });
    events.on('job:failed', ({ job }) => observe(job, 'failed'));
    events.on('job:complete', ({ job }) => void started.delete(job.id));
    return events;
  }
}
