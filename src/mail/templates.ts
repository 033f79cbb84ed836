import type { MailMessage } from './mailer.js';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain email: greeting, paragraphs, one call to action. Values are escaped in the HTML part. */
export function compose(input: { to: string; subject: string; greeting: string; paragraphs: string[]; action?: { label: string; url: string } }): MailMessage {
  const { to, subject, greeting, paragraphs, action } = input;
  const text = [greeting, '', ...paragraphs.flatMap((p) => [p, '']), ...(action ? [`${action.label}: ${action.url}`, ''] : [])].join('\n');
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`] : []),
  ].join('\n');
  return { to, subject, text, html, ...(action ? { link: action.url } : {}) };
}

/** The email that proves an address; the link opens the frontend, which calls the confirm API. */
export function verificationEmail(input: { to: string; name: string; link: string; expiresAt: Date }): MailMessage {
  return compose({
    to: input.to,
    subject: 'Confirm your email address',
    greeting: `Hi ${input.name},`,
    paragraphs: [
      'Please confirm your email address to start your free trial.',
      `This link works until ${input.expiresAt.toUTCString()}.`,
    ],
    action: { label: 'Confirm your email', url: input.link },
  });
}

/** The email that invites a teammate into a workspace. */
export function invitationEmail(input: { to: string; workspaceName: string; inviterName: string; link: string; expiresAt: Date }): MailMessage {
  return compose({
    to: input.to,
    subject: `${input.inviterName} invited you to ${input.workspaceName}`,
    greeting: 'Hi,',
    paragraphs: [
      `${input.inviterName} invited you to join the workspace ${input.workspaceName}.`,
      `This invitation works until ${input.expiresAt.toUTCString()}.`,
    ],
    action: { label: `Join ${input.workspaceName}`, url: input.link },
  });
}

/** The reminders of the trial lifecycle. */
export function trialEmail(input: { to: string; name: string; workspaceName: string; kind: 'ending_soon' | 'ended'; trialEndsAt: Date; link: string }): MailMessage {
  const ended = input.kind === 'ended';
  return compose({
    to: input.to,
    subject: ended ? `Your trial of ${input.workspaceName} has ended` : `Your trial of ${input.workspaceName} ends soon`,
    greeting: `Hi ${input.name},`,
    paragraphs: [
      ended
        ? `The trial of ${input.workspaceName} ended on ${input.trialEndsAt.toUTCString()}.`
        : `The trial of ${input.workspaceName} ends on ${input.trialEndsAt.toUTCString()}.`,
      'Choose a plan to keep your workspace and its data.',
    ],
    action: { label: 'Choose a plan', url: input.link },
  });
}

/** Sent to owners once onboarding is complete. */
export function onboardingCompletedEmail(input: { to: string; name: string; workspaceName: string; link: string }): MailMessage {
  return compose({
    to: input.to,
    subject: `${input.workspaceName} is all set up`,
    greeting: `Hi ${input.name},`,
    paragraphs: [`Every setup step of ${input.workspaceName} is done. Your team can get to work.`],
    action: { label: `Open ${input.workspaceName}`, url: input.link },
  });
}

/** Sent once per lock: too many wrong passwords paused sign-in to the account. */
export function signInLockedEmail(input: { to: string; name: string; failures: number; lockedUntil: Date; link: string }): MailMessage {
  return compose({
    to: input.to,
    subject: 'Sign-in to your account is paused',
    greeting: `Hi ${input.name},`,
    paragraphs: [
      `Someone entered a wrong password for your account ${input.failures} times within an hour, so signing in is paused until ${input.lockedUntil.toUTCString()}, even with the right password.`,
      'If this was you, wait until then and try again. If it was not, nobody got in: your password was never accepted. Consider choosing a stronger password that you use nowhere else.',
    ],
    action: { label: 'Sign in later', url: input.link },
  });
}
