import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import { WarmSmtpPool, type PoolLog } from './warm-smtp-pool.js';

/** One email, with both a text and an HTML part. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The one link the reader should follow; the dev mailbox prints it. */
  link?: string;
  /**
   * The key of the intent this email carries out (e.g. `verification.<id>`): it becomes the
   * Message-ID `<key@host of MAIL_FROM>`, identical on every retry, so a message sent twice after
   * an unknown outcome is one message to mail servers and clients. Letters, digits, `.`, `-`, `_`.
   */
  messageId?: string;
}

/** `<key@host>` for a MailMessage's `messageId`, the host taken from the sender's address. */
export function messageIdHeader(key: string, from: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(key)) throw new Error(`A message key may hold letters, digits, ".", "-" and "_" only, got "${key}".`);
  const host = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${key}@${host}>`;
}

/** The nodemailer fields of a message (its link stays with us). */
function envelope(message: MailMessage, from: string) {
  const { to, subject, text, html, messageId } = message;
  return { from, to, subject, text, html, ...(messageId ? { messageId: messageIdHeader(messageId, from) } : {}) };
}

/** Sends mail; throws when the message was not accepted, so the job retries. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Opens the connections mail will leave through, before the first message (a process that sends mail calls it at start). */
  warm(): void;
  close(): void;
}

/**
 * Mail through the SMTP server at `smtpUrl`, over `connections` connections that `warm()` opens
 * and that stay open (WarmSmtpPool): a new connection costs a TCP and often a TLS handshake plus
 * the server's greeting delay (many servers wait on purpose), which dominated the time from sign-up
 * to delivery.
 */
export function createSmtpMailer(smtpUrl: string, from: string, options: { connections?: number; log: PoolLog }): Mailer {
  const pool = new WarmSmtpPool(smtpUrl, options.connections ?? 5, options.log);
  const transport = nodemailer.createTransport(pool);
  return {
    async send(message) {
      await transport.sendMail(envelope(message, from));
    },
    warm: () => pool.warm(),
    close: () => transport.close(),
  };
}

/**
 * The dev mailbox: each message is saved as an .eml file under `dir` and, with `logLinks`, its link is
 * logged, so a developer can follow the flow without any mail server. Never used when SMTP_URL is set;
 * with NODE_ENV=production (`logLinks` false) no link, which holds a live token, reaches the log.
 */
export function createDevMailbox(dir: string, from: string, log: FastifyBaseLogger, options: { logLinks: boolean }): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      const { to, subject, text, link } = message;
      const info = await transport.sendMail(envelope(message, from));
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[<>@]/g, '')}.eml`);
      await writeFile(file, info.message as Buffer);
      // A plain summary beside the .eml, for the /dev/mail page (the .eml text is quoted-printable).
      const saved: SavedMessage = { savedAt: new Date().toISOString(), to, subject, link: link ?? null, text, file: path.basename(file) };
      await writeFile(file.replace(/\.eml$/, '.json'), JSON.stringify(saved));
      log.info({ to, subject, file, ...(options.logLinks ? { link } : {}) }, 'dev mailbox: message saved');
    },
    warm: () => undefined,
    close: () => transport.close(),
  };
}

/** A message the dev mailbox saved, as the /dev/mail page lists it. */
export interface SavedMessage {
  savedAt: string;
  to: string;
  subject: string;
  link: string | null;
  text: string;
  /** The .eml file's name under the mailbox directory. */
  file: string;
}

/** The dev mailbox's messages, newest first; an empty list when nothing was sent yet. */
export async function readDevMailbox(dir: string): Promise<SavedMessage[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const messages = await Promise.all(
    names.filter((name) => name.endsWith('.json')).map(async (name) => JSON.parse(await readFile(path.join(dir, name), 'utf8')) as SavedMessage),
  );
  return messages.sort((a, b) => b.savedAt.localeCompare(a.savedAt) || b.file.localeCompare(a.file));
}
