import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import { createSmtpMailer } from '../../src/mail/mailer.js';

/** A real SMTP server that counts connections and messages; `closeIdleAfterMs` makes it drop idle clients, `greetingDelayMs` holds back its greeting. */
async function countingServer(port = 0, closeIdleAfterMs?: number, greetingDelayMs = 0) {
  const counts = { connections: 0, closed: 0, messages: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 100,
    ...(closeIdleAfterMs ? { socketTimeout: closeIdleAfterMs } : {}),
    onConnect(_session, callback) {
      counts.connections++;
      setTimeout(callback, greetingDelayMs);
    },
    onClose() {
      counts.closed++;
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        counts.messages++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    counts,
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const message = (n: number) => ({ to: `person-${n}@example.com`, subject: `Message ${n}`, text: 'Hello', html: '<p>Hello</p>' });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const FROM = 'Onboarding <no-reply@localhost>';
const silent = { warn: () => undefined, info: () => undefined };
const mailerFor = (port: number, connections: number) => createSmtpMailer(`smtp://127.0.0.1:${port}`, FROM, { connections, log: silent });

t.test('messages share one kept-open connection', async (t) => {
  const server = await countingServer();
  t.teardown(server.close);
  const mailer = mailerFor(server.port, 1);
  t.teardown(() => mailer.close());
  for (let n = 0; n < 5; n++) await mailer.send(message(n));
  t.equal(server.counts.messages, 5);
  t.equal(server.counts.connections, 1, 'one connection for five messages in a row');
});

t.test('warm() opens every connection before the first message, and messages wait for them instead of opening more', async (t) => {
  const server = await countingServer(0, undefined, 100);
  t.teardown(server.close);
  const mailer = mailerFor(server.port, 3);
  t.teardown(() => mailer.close());
  mailer.warm();
  await until(() => server.counts.connections === 3);
  t.equal(server.counts.messages, 0, 'opened with no message sent');
  await Promise.all(Array.from({ length: 9 }, (_, n) => mailer.send(message(n))));
  t.equal(server.counts.messages, 9);
  t.equal(server.counts.connections, 3, 'nine messages at once went over the three warm connections');
});

t.test('a connection the server closed while idle is opened again before the next message, which goes through', async (t) => {
  const server = await countingServer(0, 150);
  t.teardown(server.close);
  const mailer = mailerFor(server.port, 1);
  t.teardown(() => mailer.close());
  mailer.warm();
  await mailer.send(message(1));
  await until(() => server.counts.closed === 1);
  await until(() => server.counts.connections >= 2);
  await mailer.send(message(2));
  t.equal(server.counts.messages, 2);
  t.ok(server.counts.connections >= 2, 'a new connection replaced the one the server closed, without waiting for a message');
});

t.test('after the server restarts on the same port, the pool opens its connections again and the next message goes through', async (t) => {
  const first = await countingServer();
  const mailer = mailerFor(first.port, 2);
  t.teardown(() => mailer.close());
  mailer.warm();
  await mailer.send(message(1));
  await first.close();
  const second = await countingServer(first.port);
  t.teardown(second.close);
  await until(() => second.counts.connections === 2);
  t.equal(second.counts.messages, 0, 'reopened before any message needed them');
  await mailer.send(message(2));
  t.equal(first.counts.messages, 1);
  t.equal(second.counts.messages, 1, 'the restarted server got the second message');
});

t.test('while the server is down, a message fails (its job retries later) instead of waiting', async (t) => {
  const server = await countingServer();
  const port = server.port;
  await server.close();
  const mailer = mailerFor(port, 2);
  t.teardown(() => mailer.close());
  mailer.warm();
  await t.rejects(mailer.send(message(1)), { message: /ECONNREFUSED/ });
  const back = await countingServer(port);
  t.teardown(back.close);
  await mailer.send(message(2));
  t.equal(back.counts.messages, 1, 'a message after the server came back wakes the pool and goes through');
});
