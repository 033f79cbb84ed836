/** A real SMTP server for benchmarks: accepts every message and counts it, without parsing. */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CountingSmtp {
  url: string;
  /** Messages accepted so far. */
  count(): number;
  /** performance.now() when each message was accepted, with its first recipient. */
  received: { to: string; at: number }[];
  /** Resolves once `n` messages have been accepted. */
  waitFor(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the server on a free port. `greetingDelayMs` holds back the greeting of every new
 * connection, as many real servers do on purpose (a cost a connection pool pays once).
 */
export async function startCountingSmtp(options: { greetingDelayMs?: number } = {}): Promise<CountingSmtp> {
  const received: { to: string; at: number }[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 100,
    onConnect(_session, callback) {
      if (options.greetingDelayMs) setTimeout(() => callback(), options.greetingDelayMs);
      else callback();
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo[0]?.address.toLowerCase() ?? '', at: performance.now() });
        for (const waiter of waiters.filter((w) => received.length >= w.n)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    count: () => received.length,
    received,
    waitFor(n, timeoutMs) {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} emails arrived within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
