/** Shared parts of the bench scripts: a database, the service as a child process, load, reporting. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.js';

/** A fresh database for one bench run: on BENCH_DATABASE_URL's server if set, else embedded. */
export async function benchDatabase(): Promise<{ url: string; close(): Promise<void> }> {
  const name = `bench_${process.pid}`;
  if (process.env.BENCH_DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = new URL(process.env.BENCH_DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async close() {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-bench-'));
  await chmod(dir, 0o755);
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), database: name });
  return {
    url: embedded.url,
    async close() {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds used so far: the service (all threads, and its main thread alone), every PostgreSQL process on the machine, and this bench process. */
export async function cpuSeconds(pid: number): Promise<CpuReading> {
  const ticks = async (statPath: string) => {
    const stat = await readFile(statPath, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  };
  let postgres = 0;
  for (const p of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const comm = await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') postgres += await ticks(`/proc/${p}/stat`);
  }
  const own = process.cpuUsage();
  return {
    service: await ticks(`/proc/${pid}/stat`),
    serviceMainThread: await ticks(`/proc/${pid}/task/${pid}/stat`),
    postgres,
    bench: (own.user + own.system) / 1e6,
  };
}

export interface CpuReading {
  service: number;
  serviceMainThread: number;
  postgres: number;
  /** This process: the load generator while it runs, the baseline while that runs. */
  bench: number;
}

/** CPU milliseconds per operation between two readings, for each part. */
export function cpuPerOperation(before: CpuReading, after: CpuReading, operations: number): CpuReading {
  const per = (key: keyof CpuReading) => ((after[key] - before[key]) * 1000) / operations;
  return { service: per('service'), serviceMainThread: per('serviceMainThread'), postgres: per('postgres'), bench: per('bench') };
}

/** The service in its own process (as in production), listening on a free port. */
export async function startService(env: Record<string, string>): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 600) throw new Error('the service did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs autocannon and returns requests/s and latency percentiles in ms. */
export async function load(options: autocannon.Options): Promise<{ rps: number; p50: number; p99: number; ok: number; non2xx: number; errors: number }> {
  const result = await autocannon(options);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Runs `task` `concurrency` at a time for `seconds`; returns completions per second. */
export async function throughput(seconds: number, concurrency: number, task: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await task();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** One result line per figure, then the verdict. */
export function report(title: string, lines: Record<string, string | number>, verdict: { ok: boolean; text: string }): void {
  process.stdout.write(`\n${title}\n`);
  for (const [key, value] of Object.entries(lines)) {
    process.stdout.write(`  ${key.padEnd(34)} ${typeof value === 'number' ? value.toFixed(2) : value}\n`);
  }
  process.stdout.write(`  ${verdict.ok ? 'PASS' : 'FAIL'}: ${verdict.text}\n`);
}

/** Runs a bench script's main, exiting non-zero with the stack if it throws. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}

/** One row a save bench writes: its id, the path and cookie of its save, and the body of a save at a version. */
export interface SaveTarget {
  id: string;
  path: string;
  cookie: string;
  body(turn: number, version: number): unknown;
}

/**
 * The auto-save claim, shared by the save benches: PATCHes at `connections` over `targets` (taken
 * in turn, each save carrying the version its previous save returned) against `baseline()`, the
 * bare single-row UPDATE commits/s at the same concurrency, measured before and after. Prints the
 * figures and the verdict: ratio >= 0.5 and p99 < 25 ms.
 */
export async function benchSaves(title: string, options: { url: string; pid: number; connections: number; seconds: number; targets: SaveTarget[]; baseline(): Promise<number> }): Promise<void> {
  const { targets } = options;
  const baselineBefore = await options.baseline();
  // autocannon rebuilds the context for every request, so versions live here; with 8 targets per
  // connection a target's last answer is back before its next save is built.
  const versions = new Map<string, number>();
  let turn = 0;
  let firstFailure = '';
  const cpuBefore = await cpuSeconds(options.pid);
  const saves = await load({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        setupRequest: (request, context) => {
          const target = targets[turn++ % targets.length]!;
          (context as { id?: string }).id = target.id;
          return {
            ...request,
            method: 'PATCH',
            path: target.path,
            headers: { 'content-type': 'application/json', cookie: target.cookie },
            body: JSON.stringify(target.body(turn, versions.get(target.id) ?? 0)),
          };
        },
        onResponse: (status, body, context) => {
          const { id } = context as { id?: string };
          if (status === 200 && id) versions.set(id, JSON.parse(body).version);
          else if (!firstFailure) firstFailure = `${status} ${body.slice(0, 200)}`;
        },
      },
    ],
  });
  const cpuAfter = await cpuSeconds(options.pid);
  const cpu = cpuPerOperation(cpuBefore, cpuAfter, saves.rps * options.seconds);
  if (firstFailure) process.stderr.write(`first failed save: ${firstFailure}\n`);
  const baseline = (baselineBefore + (await options.baseline())) / 2;
  const ratio = saves.rps / baseline;
  report(
    title,
    {
      [`saves/s (HTTP, ${options.connections} conns)`]: saves.rps,
      'save p50 ms': saves.p50,
      'save p99 ms (target < 25)': saves.p99,
      'non-2xx answers': saves.non2xx,
      'service CPU ms / save': cpu.service,
      'PostgreSQL CPU ms / save': cpu.postgres,
      [`single-row UPDATE commits/s (${options.connections})`]: baseline,
      'ratio (target >= 0.5)': ratio,
    },
    { ok: ratio >= 0.5 && saves.p99 < 25 && saves.non2xx === 0, text: `saves/s is ${(ratio * 100).toFixed(0)}% of bare UPDATE commits/s; p99 ${saves.p99} ms` },
  );
}
