import { Readable } from 'node:stream';
import type { Transport } from 'nodemailer';
import type { MailMessage as NodemailerMessage } from 'nodemailer/lib/mailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** Where the pool reports that the mail server became unreachable, and that it is back. */
export interface PoolLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

type Info = { messageId: string; envelope: object; accepted: unknown[]; rejected: unknown[]; response: string };
type Pending = { mail: NodemailerMessage<Info>; raw: Buffer; callback: (error: Error | null, info?: Info) => void; retried: boolean };
type Slot = { connection?: SMTPConnection; state: 'down' | 'connecting' | 'idle' | 'busy'; failures: number; readyAt: number; timer?: NodeJS.Timeout };

/** The longest wait between two attempts to reach a mail server that is down. */
const MAX_BACKOFF_MS = 5_000;
/** A connection closed sooner than this after it opened counts as a failure (backoff), not an idle timeout. */
const SHORT_LIVED_MS = 1_000;

/**
 * A nodemailer transport over `size` SMTP connections that are opened by `warm()`, before the first
 * message, and opened again as soon as one closes (the server's idle timeout, a restart). A message
 * waits for the next free connection instead of opening one: many servers hold back their greeting
 * on purpose (100 ms and more), and paying that with the first emails after start was the whole
 * p99 of bench:mail-latency. nodemailer's own pool opens connections only on demand, so this keeps
 * its connection class (SMTPConnection: TLS, STARTTLS, AUTH) and its message composition, and adds
 * the warm slots. A connection the server dropped before a byte of the message left gets the
 * message moved to another connection once; any other failure goes to the caller (the job retries).
 */
export class WarmSmtpPool implements Transport<Info> {
  readonly name = 'warm-smtp-pool';
  readonly version = '1';
  private readonly options: SMTPConnection.Options & { auth?: { user: string; pass: string } };
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private warmed = false;
  private closed = false;

  constructor(smtpUrl: string, size: number, private readonly log: PoolLog) {
    this.options = { ...(parseConnectionUrl(smtpUrl) as SMTPConnection.Options & { auth?: { user: string; pass: string } }) };
    this.slots = Array.from({ length: size }, () => ({ state: 'down', failures: 0, readyAt: 0 }));
  }

  /** Opens every connection now and keeps them open from here on. */
  warm(): void {
    if (this.warmed || this.closed) return;
    this.warmed = true;
    for (const slot of this.slots) this.open(slot);
  }

  /** nodemailer's entry point: queues a composed message for the next free connection. */
  send(mail: NodemailerMessage<Info>, callback: (error: Error | null, info?: Info) => void): void {
    if (this.closed) return callback(new Error('The mail pool is closed.'));
    // Composed into one buffer first: nodemailer's message stream yields a chunk per header and body
    // line, and each became a socket write of its own (about 1.3 ms of CPU per email, measured).
    mail.message.build((error, raw) => {
      if (error) return callback(error);
      if (this.closed) return callback(new Error('The mail pool is closed.'));
      this.queue.push({ mail, raw, callback, retried: false });
      if (!this.warmed) this.warm();
      // A server that was down may be back: a message does not wait out a slot's backoff.
      for (const slot of this.slots) if (slot.state === 'down') this.open(slot);
      this.dispatch();
    });
  }

  /** Closes every connection; queued messages fail. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.connection?.close();
    }
    for (const pending of this.queue.splice(0)) pending.callback(new Error('The mail pool was closed before this message was sent.'));
  }

  /** Connections open and ready for a message (for tests and metrics). */
  readyConnections(): number {
    return this.slots.filter((slot) => slot.state === 'idle' || slot.state === 'busy').length;
  }

  private open(slot: Slot): void {
    if (this.closed || slot.state === 'connecting' || slot.state === 'idle' || slot.state === 'busy') return;
    clearTimeout(slot.timer);
    slot.state = 'connecting';
    const connection = new SMTPConnection(this.options);
    slot.connection = connection;
    let settled = false;
    const down = (error?: Error) => {
      if (slot.connection !== connection || settled) return;
      settled = true;
      connection.close();
      this.lost(slot, error);
    };
    connection.on('error', (error: Error) => down(error));
    connection.once('end', () => down());
    connection.connect((error) => {
      if (error) return down(error);
      const ready = () => {
        if (slot.failures > 0) this.log.info({ smtp: this.where() }, 'The mail server answers again.');
        slot.failures = 0;
        slot.readyAt = performance.now();
        slot.state = 'idle';
        this.dispatch();
      };
      if (!this.options.auth || !connection.allowsAuth) return ready();
      connection.login({ credentials: this.options.auth }, (loginError) => (loginError ? down(loginError) : ready()));
    });
  }

  /** A slot's connection closed or could not be opened: open it again, at once or after a backoff. */
  private lost(slot: Slot, error: Error | undefined): void {
    const wasReady = slot.state === 'idle' || slot.state === 'busy';
    slot.state = 'down';
    slot.connection = undefined;
    if (this.closed) return;
    // An idle timeout or a restart: reopen now, before the next message needs it.
    if (wasReady && performance.now() - slot.readyAt >= SHORT_LIVED_MS) return this.open(slot);
    slot.failures++;
    if (slot.failures === 1) this.log.warn({ smtp: this.where(), err: error?.message }, 'The mail server refused or dropped the connection; retrying.');
    // Nothing can carry the waiting messages now: they fail, and their jobs retry later.
    if (!this.slots.some((s) => s.state !== 'down')) {
      for (const pending of this.queue.splice(0)) pending.callback(error ?? new Error('The mail server closed the connection.'));
    }
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (slot.failures - 1));
    slot.timer = setTimeout(() => this.open(slot), delay);
    slot.timer.unref();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.state !== 'idle' || this.queue.length === 0) continue;
      this.deliver(slot, this.queue.shift()!);
    }
  }

  private deliver(slot: Slot, pending: Pending): void {
    const connection = slot.connection!;
    slot.state = 'busy';
    const stream = Readable.from([pending.raw], { objectMode: false });
    connection.send(pending.mail.message.getEnvelope(), stream, (error, info) => {
      if (slot.connection !== connection) {
        // The connection went down under the message (its 'end' came first).
        return this.failed(pending, error ?? new Error('The mail server closed the connection.'), stream.readableDidRead);
      }
      if (!error) {
        slot.state = 'idle';
        pending.callback(null, { ...info, messageId: pending.mail.message.messageId(), envelope: pending.mail.message.getEnvelope() } as Info);
        return this.dispatch();
      }
      const code = (error as { code?: string }).code;
      if (code === 'EENVELOPE' || code === 'EMESSAGE') {
        // The server refused this message; the connection is fine once reset.
        pending.callback(error);
        return connection.reset((resetError) => {
          if (resetError) return connection.close();
          slot.state = 'idle';
          this.dispatch();
        });
      }
      slot.state = 'down';
      slot.connection = undefined;
      connection.close();
      this.failed(pending, error, stream.readableDidRead);
      this.open(slot);
    });
  }

  /** A message whose connection broke: moved to another connection once if none of it was sent. */
  private failed(pending: Pending, error: Error, anythingSent: boolean): void {
    if (anythingSent || pending.retried || this.closed) return pending.callback(error);
    pending.retried = true;
    this.queue.unshift(pending);
    this.dispatch();
  }

  private where(): string {
    return `${this.options.host}:${this.options.port ?? ''}`;
  }
}
