import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Test } from 'tap';

/** A message as the SMTP server received it, parsed. */
export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The Message-ID header, e.g. `<verification.<id>@localhost>`. */
  messageId: string;
}

/**
 * Runs on each fully received message before the server answers: throwing refuses the message,
 * and while the returned promise is pending the client waits (a stalled DATA). A message whose
 * client hung up before the answer is not kept, as a mail server does not deliver it.
 */
export type BeforeAccept = (mail: ReceivedMail) => Promise<void> | void;

/** A real SMTP server on a free port that keeps every message it accepts. */
export interface SmtpSink {
  url: string;
  messages: ReceivedMail[];
  /** Messages to one address, in arrival order. */
  to(address: string): ReceivedMail[];
}

export async function startSmtpSink(t: Test, options: { beforeAccept?: BeforeAccept } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const closed = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onClose(session) {
      closed.add(session.id);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const mail = {
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()).join(','),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '',
          };
          await options.beforeAccept?.(mail);
          if (closed.has(session.id)) throw new Error('The client hung up before the message was accepted.');
          messages.push(mail);
        })
        .then(
          () => callback(),
          (error: Error) => callback(error),
        );
    },
  });
  // A client killed mid-conversation resets its connection: that is the client's trouble, not ours.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to: (address) => messages.filter((m) => m.to === address.toLowerCase()),
  };
}

/** The token in the first link of an email's text part that has `?token=`. */
export function tokenFrom(mail: ReceivedMail): string {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error(`No token link in the email "${mail.subject}".`);
  return match[1]!;
}
