import type { MailMessage } from './mailer.js';
import { compose } from './templates.js';

/** The 6-digit code of a staged sign-up: to verify the address, or to resume on another device. */
export function signupCodeEmail(input: { to: string; code: string; kind: 'verify_email' | 'resume'; expiresAt: Date }): MailMessage {
  const resume = input.kind === 'resume';
  return compose({
    to: input.to,
    // The code stays out of the subject: subjects end up in mail logs and notifications.
    subject: resume ? 'Your code to continue signing up' : 'Your sign-up code',
    greeting: 'Hi,',
    paragraphs: [
      resume ? 'Enter this code on the device where you want to continue your sign-up:' : 'Enter this code to confirm your email address:',
      // On a line of its own, so it is easy to copy (and to find in the dev mailbox).
      input.code,
      `It works until ${input.expiresAt.toUTCString()}. If you did not ask for it, ignore this email: nothing happens without the code.`,
    ],
  });
}
