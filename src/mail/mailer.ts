import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';

/** One email, with both a text and an HTML part. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The one link the reader should follow; the dev mailbox prints it. */
  link?: string;
}

/** Sends mail; throws when the message was not accepted, so the job retries. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * Mail through the SMTP server at `smtpUrl`, over a pool of kept-open connections: a new
 * connection costs a TCP and often a TLS handshake plus the server's greeting delay (many servers
 * wait on purpose), which dominated the time from sign-up to delivery. The pool drops a connection
 * the server closed (idle timeout, restart) and opens a new one for the next message; a message
 * that was in flight on it fails, and the job that sent it retries.
 */
export function createSmtpMailer(smtpUrl: string, from: string, options: { maxConnections?: number } = {}): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    // A connection is recycled after this many messages; long-lived connections are the point.
    maxMessages: 1000,
  });
  return {
    async send({ to, subject, text, html }) {
      await transport.sendMail({ from, to, subject, text, html });
    },
    close: () => transport.close(),
  };
}

/**
 * The dev mailbox: each message is saved as an .eml file under `dir` and its link is logged, so a
 * developer can follow the flow without any mail server. Never used when SMTP_URL is set.
 */
export function createDevMailbox(dir: string, from: string, log: FastifyBaseLogger): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send({ to, subject, text, html, link }) {
      const info = await transport.sendMail({ from, to, subject, text, html });
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[<>@]/g, '')}.eml`);
      await writeFile(file, info.message as Buffer);
      log.info({ to, subject, file, link }, 'dev mailbox: message saved');
    },
    close: () => transport.close(),
  };
}
