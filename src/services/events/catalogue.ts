import type { Role } from '../../db/schema.js';

/**
 * Every event type and its `data`. Data is small and never holds a password, a token, a code or a
 * hash of one. Another change that emits events adds its type here (one line) and calls
 * `events.record(trx, {type, workspaceId, data})` in its transaction.
 */
export interface EventData {
  /** `via`: how the account came to be; an invitation makes it verified at once. */
  'account.registered': { accountId: string; email: string; name: string; emailVerified: boolean; via: 'registration' | 'invitation' | 'signup_flow' };
  'account.verified': { accountId: string; email: string };
  'workspace.created': { workspaceId: string; name: string; plan: string; ownerAccountId: string };
  'workspace.initialized': { workspaceId: string };
  'trial.started': { workspaceId: string; trialEndsAt: string };
  'trial.extended': { workspaceId: string; from: string | null; to: string; extendDays: number | null; reason: string };
  'trial.ending_soon': { workspaceId: string; trialEndsAt: string };
  'trial.expired': { workspaceId: string; trialEndsAt: string };
  'member.invited': { invitationId: string; email: string; role: Role; invitedBy: string };
  'member.joined': { accountId: string; email: string; role: Role; invitationId: string };
  'member.role_changed': { accountId: string; from: Role; to: Role; changedBy: string };
  'member.removed': { accountId: string; role: Role; left: boolean; removedBy: string };
  /** `accountId`: who completed it through the API; null when an event completed it (`byEvent`). */
  'onboarding.step_completed': { step: string; accountId: string | null; byEvent: string | null };
  'onboarding.completed': { workspaceId: string; accountId: string | null };
  'workspace.closed': { workspaceId: string; reason: 'onboarding_abandoned'; afterDays: number };
  'workspace.reopened': { workspaceId: string; reason: string };
  /** A paid plan's subscription was written by the billing saga's pivot (an upgrade or a paid sign-up). */
  'billing.subscribed': { workspaceId: string; plan: string; subscriptionId: string; status: string; trialEnd: string | null };
  'billing.payment_method_updated': { workspaceId: string; brand: string; last4: string };
  /** `atPeriodEnd`: the subscription runs until the period's end. */
  'billing.subscription_canceled': { workspaceId: string; subscriptionId: string; atPeriodEnd: boolean };
  /** A change the gateway reported (webhook), applied in order by the gateway's own timestamps. */
  'billing.subscription_updated': { workspaceId: string; subscriptionId: string; status: string; cancelAtPeriodEnd: boolean; trialEnd: string | null; currentPeriodEnd: string | null };
  'billing.payment_failed': { workspaceId: string; subscriptionId: string };
  /** A staged sign-up abandoned with marketing consent, exported once as a lead (no workspace). */
  'signup.abandoned': {
    leadId: string;
    email: string;
    emailVerified: boolean;
    firstName: string | null;
    lastName: string | null;
    companyName: string | null;
    lastStep: string | null;
    startedAt: string;
    abandonedAt: string;
    consentTextVersion: string | null;
  };
  /** Sent only to the endpoint being tested (POST /v1/admin/webhooks/:id/test). */
  'webhook.test': { endpointId: string; message: string };
}

export type EventType = keyof EventData;

/** The event types, for validation and documentation. */
export const EVENT_TYPES = [
  'account.registered',
  'account.verified',
  'workspace.created',
  'workspace.initialized',
  'trial.started',
  'trial.extended',
  'trial.ending_soon',
  'trial.expired',
  'member.invited',
  'member.joined',
  'member.role_changed',
  'member.removed',
  'onboarding.step_completed',
  'onboarding.completed',
  'workspace.closed',
  'workspace.reopened',
  'signup.abandoned',
  'billing.subscribed',
  'billing.payment_method_updated',
  'billing.subscription_canceled',
  'billing.subscription_updated',
  'billing.payment_failed',
  'webhook.test',
] as const satisfies readonly EventType[];

/** One event to record: its type, the workspace it belongs to (null for none) and its data. */
export type NewEvent = { [T in EventType]: { type: T; workspaceId: string | null; data: EventData[T] } }[EventType];
