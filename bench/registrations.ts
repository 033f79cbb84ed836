/**
 * Claim: a registration, with everything it causes, costs little beyond its password hash. Runs the
 * service as `npm start` does (worker in the same process) with mail going to a real SMTP server that
 * accepts and counts messages; drives POST /v1/registrations with autocannon (unique emails, 4
 * connections), then waits for every verification email of the run, and counts that time too.
 * Baseline: argon2id hashes/s with the same parameters and concurrency, in the same run.
 * Target: ratio >= 0.8. Prints CPU per registration split into the request (measured in a second
 * service with the worker off), the jobs (the rest), and PostgreSQL; the service's peak RSS
 * (target < 300 MB); and the worker-off service's rate over the same baseline, which bounds the
 * ratio: the whole registration does that work and sends its email besides.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hashPassword } from '../src/services/passwords.js';
import { startCountingSmtp } from './smtp-counter.js';
import { benchDatabase, cpuPerOperation, cpuSeconds, load, report, runBench, startService, throughput } from './support.js';

const CONCURRENCY = 4;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** Autocannon options for registrations with unique emails. */
function registrations(url: string, seconds: number) {
  return load({
    url: `${url}/v1/registrations`,
    connections: CONCURRENCY,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: `bench-${randomUUID()}@example.com`, password: 'correct horse battery staple', name: 'Bench', workspaceName: 'Bench' }),
        }),
      },
    ],
  });
}

/** The highest resident set size of `pid` while `work` runs, in MB. */
async function peakRss<T>(pid: number, work: Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  };
  const timer = setInterval(() => void sample(), 200);
  try {
    const result = await work;
    await sample();
    return { result, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The request alone: a service with the worker off, on a database of its own. Its CPU per
 * registration, and its rate: with no email sent, this rate over the baseline bounds what the whole
 * registration can reach on this machine.
 */
async function requestOnly(): Promise<{ cpu: number; perSecond: number }> {
  const database = await benchDatabase();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: 'smtp://127.0.0.1:1', RUN_WORKER: 'false', RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '1000000' });
  try {
    const before = await cpuSeconds(service.pid);
    const started = performance.now();
    const run = await registrations(service.url, SECONDS / 2);
    const elapsed = (performance.now() - started) / 1000;
    const after = await cpuSeconds(service.pid);
    return { cpu: cpuPerOperation(before, after, run.ok).service, perSecond: run.ok / elapsed };
  } finally {
    await service.stop();
    await database.close();
  }
}

async function main(): Promise<void> {
  const { cpu: requestCpu, perSecond: requestOnlyPerSecond } = await requestOnly();
  const database = await benchDatabase();
  const smtp = await startCountingSmtp();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: smtp.url, RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '1000000' });
  try {
    await hashPassword('warm up the argon2 thread pool');
    const hashCpuBefore = await cpuSeconds(service.pid);
    const baselineBefore = await throughput(SECONDS / 2, CONCURRENCY, () => hashPassword(randomUUID()));
    const cpuBefore = await cpuSeconds(service.pid);
    const hashCpu = cpuPerOperation(hashCpuBefore, cpuBefore, (baselineBefore * SECONDS) / 2).bench;
    const started = performance.now();
    const { result: run, peakMb } = await peakRss(
      service.pid,
      (async () => {
        const result = await registrations(service.url, SECONDS);
        await smtp.waitFor(result.ok, 120_000);
        return { ...result, elapsed: (performance.now() - started) / 1000 };
      })(),
    );
    const cpuAfter = await cpuSeconds(service.pid);
    const created = run.ok;
    const perSecond = created / run.elapsed;
    const cpu = cpuPerOperation(cpuBefore, cpuAfter, created);
    const baselineAfter = await throughput(SECONDS / 2, CONCURRENCY, () => hashPassword(randomUUID()));
    const baseline = (baselineBefore + baselineAfter) / 2;
    const ratio = perSecond / baseline;
    report(
      'bench:registrations (as npm start runs: worker in-process, mail to a counting SMTP server)',
      {
        'registrations/s, mail delivered': perSecond,
        'registrations (201)': created,
        'emails delivered': smtp.count(),
        'seconds: load + until last email': run.elapsed,
        'registration p50 ms': run.p50,
        'registration p99 ms': run.p99,
        'non-2xx answers': run.non2xx,
        'service CPU ms / registration': cpu.service,
        '  the request (worker off)': requestCpu,
        '  the jobs (the rest)': cpu.service - requestCpu,
        '  of which its main thread': cpu.serviceMainThread,
        'PostgreSQL CPU ms / registration': cpu.postgres,
        'bench CPU ms / registration': cpu.bench,
        'argon2id CPU ms / hash (baseline)': hashCpu,
        'argon2id hashes/s (4 at once)': baseline,
        'service peak RSS MB (target < 300)': peakMb,
        'ratio (target >= 0.8)': ratio,
        'worker off, no email: registrations/s': requestOnlyPerSecond,
        'worker off, no email: ratio (the bound)': requestOnlyPerSecond / baseline,
      },
      {
        ok: ratio >= 0.8 && run.non2xx === 0 && peakMb < 300,
        text: `registrations with their email delivered are ${(ratio * 100).toFixed(0)}% of bare argon2id hashing; peak RSS ${peakMb.toFixed(0)} MB`,
      },
    );
  } finally {
    await service.stop();
    await smtp.close();
    await database.close();
  }
}

runBench(main);
