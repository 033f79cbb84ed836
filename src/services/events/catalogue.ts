import type { Role } from '../../db/schema.js';

/** A catalogue entry: the data type of an event, carried by the type only (its value is unused). */
const data = <T>() => null as unknown as T;

/**
 * Every event type and its `data`, listed once: the types (EVENT_TYPES) and their data (EventData) are
 * derived from this catalogue. Data is small and never holds a password, a token, a code or a
 * hash of one. Another change that emits events adds its type here (one line) and calls
 * `events.record(trx, {type, workspaceId, data})` in its transaction.
 */
const CATALOGUE = {
  /** `via`: how the account came to be; an invitation makes it verified at once. */
  'account.registered': data<{ accountId: string; email: string; name: string; emailVerified: boolean; via: 'registration' | 'invitation' | 'signup_flow' }>(),
  'account.verified': data<{ accountId: string; email: string }>(),
  'workspace.created': data<{ workspaceId: string; name: string; plan: string; ownerAccountId: string }>(),
  'workspace.initialized': data<{ workspaceId: string }>(),
  'trial.started': data<{ workspaceId: string; trialEndsAt: string }>(),
  'trial.extended': data<{ workspaceId: string; from: string | null; to: string; extendDays: number | null; reason: string }>(),
  'trial.ending_soon': data<{ workspaceId: string; trialEndsAt: string }>(),
  'trial.expired': data<{ workspaceId: string; trialEndsAt: string }>(),
  'member.invited': data<{ invitationId: string; email: string; role: Role; invitedBy: string }>(),
  'member.joined': data<{ accountId: string; email: string; role: Role; invitationId: string }>(),
  'member.role_changed': data<{ accountId: string; from: Role; to: Role; changedBy: string }>(),
  'member.removed': data<{ accountId: string; role: Role; left: boolean; removedBy: string }>(),
  /** `accountId`: who completed it through the API; null when an event completed it (`byEvent`). */
  'onboarding.step_completed': data<{ step: string; accountId: string | null; byEvent: string | null }>(),
  'onboarding.completed': data<{ workspaceId: string; accountId: string | null }>(),
  'workspace.closed': data<{ workspaceId: string; reason: 'onboarding_abandoned'; afterDays: number }>(),
  'workspace.reopened': data<{ workspaceId: string; reason: string }>(),
  /** A paid plan's subscription was written by the billing saga's pivot (an upgrade or a paid sign-up). */
  'billing.subscribed': data<{ workspaceId: string; plan: string; subscriptionId: string; status: string; trialEnd: string | null }>(),
  'billing.payment_method_updated': data<{ workspaceId: string; brand: string; last4: string }>(),
  /** `atPeriodEnd`: the subscription runs until the period's end. */
  'billing.subscription_canceled': data<{ workspaceId: string; subscriptionId: string; atPeriodEnd: boolean }>(),
  /** A change the gateway reported (webhook), applied in order by the gateway's own timestamps. */
  'billing.subscription_updated': data<{ workspaceId: string; subscriptionId: string; status: string; cancelAtPeriodEnd: boolean; trialEnd: string | null; currentPeriodEnd: string | null }>(),
  'billing.payment_failed': data<{ workspaceId: string; subscriptionId: string }>(),
  /** A staged sign-up abandoned with marketing consent, exported once as a lead (no workspace). */
  'signup.abandoned': data<{
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
  }>(),
  /** Sent only to the endpoint being tested (POST /v1/admin/webhooks/:id/test). */
  'webhook.test': data<{ endpointId: string; message: string }>(),
};

/** Every event type and its `data`. */
export type EventData = typeof CATALOGUE;

export type EventType = keyof EventData;

/** The event types, for validation and documentation. */
export const EVENT_TYPES = Object.keys(CATALOGUE) as readonly EventType[];

/** One event to record: its type, the workspace it belongs to (null for none) and its data. */
export type NewEvent = { [T in EventType]: { type: T; workspaceId: string | null; data: EventData[T] } }[EventType];
