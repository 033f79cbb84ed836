import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import { createSmtpMailer } from '../../src/mail/mailer.js';

/** A real SMTP server that counts connections and messages; `closeIdleAfterMs` makes it drop idle clients. */
async function countingServer(port = 0, closeIdleAfterMs?: number) {
  const counts = { connections: 0, closed: 0, messages: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 100,
    ...(closeIdleAfterMs ? { socketTimeout: closeIdleAfterMs } : {}),
    onConnect(_session, callback) {
      counts.connections++;
      callback();
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

t.test('messages share one kept-open connection', async (t) => {
  const server = await countingServer();
  t.teardown(server.close);
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${server.port}`, 'Onboarding <no-reply@localhost>');
  t.teardown(() => mailer.close());
  for (let n = 0; n < 5; n++) await mailer.send(message(n));
  t.equal(server.counts.messages, 5);
  t.equal(server.counts.connections, 1, 'one connection for five messages in a row');
});

t.test('a connection the server closed while idle is replaced, and the next message goes through', async (t) => {
  const server = await countingServer(0, 150);
  t.teardown(server.close);
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${server.port}`, 'Onboarding <no-reply@localhost>');
  t.teardown(() => mailer.close());
  await mailer.send(message(1));
  await until(() => server.counts.closed === 1);
  await mailer.send(message(2));
  t.equal(server.counts.messages, 2);
  t.equal(server.counts.connections, 2, 'a new connection after the idle one was closed');
});

t.test('after the server restarts on the same port, the next message goes through', async (t) => {
  const first = await countingServer();
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${first.port}`, 'Onboarding <no-reply@localhost>');
  t.teardown(() => mailer.close());
  await mailer.send(message(1));
  await first.close();
  const second = await countingServer(first.port);
  t.teardown(second.close);
  await mailer.send(message(2));
  t.equal(first.counts.messages, 1);
  t.equal(second.counts.messages, 1, 'the restarted server got the second message');
});
