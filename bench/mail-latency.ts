/**
 * Claim: the verification email leaves fast. 100 sign-ups at 20 per second against the service as
 * `npm start` runs it (worker in-process), with mail going to a real SMTP server that holds back its
 * greeting by 100 ms on every new connection, as many servers do; measures the time from each 201
 * to the server accepting that sign-up's email. Targets: p50 < 50 ms, p99 < 150 ms.
 * Baseline, in the same run: one message sent over a fresh connection to the same server.
 */
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { startCountingSmtp } from './smtp-counter.js';
import { benchDatabase, report, runBench, startService } from './support.js';

const SIGNUPS = Number(process.env.BENCH_SIGNUPS ?? 100);
const PER_SECOND = 20;
const GREETING_DELAY_MS = 100;

/**
 * The nearest-rank percentile (Hyndman and Fan's definition 1): the smallest sample with at least
 * `p` of the samples at or below it. Of 100 samples, p99 is the 99th, not the slowest.
 */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]!;
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const smtp = await startCountingSmtp({ greetingDelayMs: GREETING_DELAY_MS });
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: smtp.url, RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '1000000' });
  try {
    const fresh = nodemailer.createTransport(smtp.url);
    const sendStarted = performance.now();
    await fresh.sendMail({ from: 'bench@example.com', to: 'baseline@example.com', subject: 'baseline', text: 'baseline' });
    const freshConnectionMs = performance.now() - sendStarted;
    fresh.close();

    const answeredAt = new Map<string, number>();
    const requests: Promise<void>[] = [];
    for (let i = 0; i < SIGNUPS; i++) {
      const email = `latency-${i}-${randomUUID().slice(0, 8)}@example.com`;
      requests.push(
        fetch(`${service.url}/v1/registrations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: 'correct horse battery staple', name: 'Latency', workspaceName: 'Latency' }),
        }).then(async (response) => {
          if (response.status !== 201) throw new Error(`sign-up answered ${response.status}: ${await response.text()}`);
          answeredAt.set(email, performance.now());
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000 / PER_SECOND));
    }
    await Promise.all(requests);
    await smtp.waitFor(SIGNUPS + 1, 60_000);
    const latencies = smtp.received
      .filter((mail) => answeredAt.has(mail.to))
      .map((mail) => mail.at - answeredAt.get(mail.to)!)
      .sort((a, b) => a - b);
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    report(
      'bench:mail-latency (worker in-process; SMTP greeting held 100 ms per new connection)',
      {
        'sign-ups (20/s)': SIGNUPS,
        'emails received': latencies.length,
        'one email over a fresh connection ms': freshConnectionMs,
        '201 -> email received p50 ms': p50,
        '201 -> email received p99 ms': p99,
        'max ms': latencies[latencies.length - 1]!,
      },
      { ok: p50 < 50 && p99 < 150 && latencies.length === SIGNUPS, text: `p50 ${p50.toFixed(1)} ms (target < 50), p99 ${p99.toFixed(1)} ms (target < 150)` },
    );
  } finally {
    await service.stop();
    await smtp.close();
    await database.close();
  }
}

runBench(main);
