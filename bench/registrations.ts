/**
 * Claim: registration costs little beyond its password hash. Measures registrations/s through the
 * HTTP API (autocannon, unique emails, 4 connections) against argon2id hashes/s with the same
 * parameters at the same concurrency, in the same run; target ratio >= 0.85.
 */
import { randomUUID } from 'node:crypto';
import { hashPassword } from '../src/services/passwords.js';
import { benchDatabase, cpuPerOperation, cpuSeconds, load, report, startService, throughput, runBench } from './support.js';

const CONCURRENCY = 4;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({
    DATABASE_URL: database.url,
    SMTP_URL: 'smtp://127.0.0.1:1', // the worker is off, so nothing is sent
    RUN_WORKER: 'false',
    RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '1000000',
  });
  try {
    await hashPassword('warm up the argon2 thread pool');
    const hashCpuBefore = await cpuSeconds(service.pid);
    const baselineBefore = await throughput(SECONDS / 2, CONCURRENCY, () => hashPassword(randomUUID()));
    const cpuBefore = await cpuSeconds(service.pid);
    const hashCpu = cpuPerOperation(hashCpuBefore, cpuBefore, (baselineBefore * SECONDS) / 2).bench;
    const registrations = await load({
      url: `${service.url}/v1/registrations`,
      connections: CONCURRENCY,
      duration: SECONDS,
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
    const cpuAfter = await cpuSeconds(service.pid);
    const cpu = cpuPerOperation(cpuBefore, cpuAfter, registrations.rps * SECONDS);
    const baselineAfter = await throughput(SECONDS / 2, CONCURRENCY, () => hashPassword(randomUUID()));
    const baseline = (baselineBefore + baselineAfter) / 2;
    const ratio = registrations.rps / baseline;
    report(
      'bench:registrations',
      {
        'registrations/s (HTTP, 4 conns)': registrations.rps,
        'registration p50 ms': registrations.p50,
        'registration p99 ms': registrations.p99,
        'non-2xx answers': registrations.non2xx,
        'service CPU ms / registration': cpu.service,
        '  of which its main thread': cpu.serviceMainThread,
        'PostgreSQL CPU ms / registration': cpu.postgres,
        'load generator CPU ms / request': cpu.bench,
        'argon2id CPU ms / hash (baseline)': hashCpu,
        'argon2id hashes/s (4 at once)': baseline,
        'ratio (target >= 0.85)': ratio,
      },
      { ok: ratio >= 0.85 && registrations.non2xx === 0, text: `registrations/s is ${(ratio * 100).toFixed(0)}% of bare argon2id hashing` },
    );
  } finally {
    await service.stop();
    await database.close();
  }
}

runBench(main);
