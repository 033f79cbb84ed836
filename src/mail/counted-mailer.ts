import type { Mailer } from './mailer.js';

/** Where a counted mailer reports each message's outcome (the Metrics registry). */
export interface MailCounter {
  observeMail(outcome: 'sent' | 'failed'): void;
}

/** `mailer`, counting every message it sends and every one the mail server refuses. */
export function countedMailer(mailer: Mailer, counter: MailCounter): Mailer {
  return {
    ...mailer,
    async send(message) {
      try {
        await mailer.send(message);
      } catch (error) {
        counter.observeMail('failed');
        throw error;
      }
      counter.observeMail('sent');
    },
    close: () => mailer.close(),
  };
}
