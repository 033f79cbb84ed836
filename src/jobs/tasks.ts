import type { Task, TaskList } from 'graphile-worker';
import type { JobName, JobPayloads } from '../repositories/job-queue.js';

/** Tasks that only the crontab starts (see worker.ts). */
type CronTaskName = 'close_abandoned_workspaces' | 'queue_trial_emails' | 'purge_expired' | 'clean_signup_flows' | 'recover_billing_sagas' | 'purge_webhook_log';
import type { Services } from '../services/index.js';

/** The type of each payload field, as `typeof` names it. */
type PayloadShape<N extends JobName> = { [K in keyof JobPayloads[N]]: 'string' | 'number' };

/** Rejects a malformed payload without retrying it forever: it would never become valid. */
function payloadOf<N extends JobName>(name: N, payload: unknown, shape: PayloadShape<N>): JobPayloads[N] {
  const fields = Object.entries(shape) as [string, string][];
  const ok = typeof payload === 'object' && payload !== null && fields.every(([key, type]) => typeof (payload as Record<string, unknown>)[key] === type);
  if (!ok) throw new Error(`Job ${name} got a malformed payload.`);
  return payload as JobPayloads[N];
}

/** The graphile-worker task list: each task checks its payload and calls one service. */
export function createTaskList(services: Services): TaskList {
  const tasks: Partial<Record<JobName | CronTaskName, Task>> = {
    send_verification_email: async (payload) => {
      const { verificationId } = payloadOf('send_verification_email', payload, { verificationId: 'string' });
      await services.email.sendVerification(verificationId);
    },
    send_new_verification_link: async (payload) => {
      const { email } = payloadOf('send_new_verification_link', payload, { email: 'string' });
      await services.verifications.sendNewLinkTo(email);
    },
    send_invitation_email: async (payload) => {
      const { invitationId, sendNumber } = payloadOf('send_invitation_email', payload, { invitationId: 'string', sendNumber: 'number' });
      await services.email.sendInvitation(invitationId, sendNumber);
    },
    onboarding_completed: async (payload) => {
      const { workspaceId } = payloadOf('onboarding_completed', payload, { workspaceId: 'string' });
      await services.email.sendOnboardingCompleted(workspaceId);
    },
    close_abandoned_workspaces: async () => {
      await services.onboarding.closeAbandoned();
    },
    queue_trial_emails: async () => {
      await services.lifecycle.queueTrialEmails();
    },
    purge_expired: async () => {
      await services.lifecycle.purge();
    },
    send_trial_email: async (payload) => {
      const input = payloadOf('send_trial_email', payload, { workspaceId: 'string', kind: 'string', trialEndsAt: 'string' });
      await services.email.sendTrialEmail(input);
    },
    send_signup_code: async (payload) => {
      const { flowId, codeNumber } = payloadOf('send_signup_code', payload, { flowId: 'string', codeNumber: 'number' });
      await services.signupLeads.sendCode(flowId, codeNumber);
    },
    clean_signup_flows: async () => {
      await services.signupLeads.cleanup();
    },
    process_gateway_event: async (payload) => {
      const { eventId } = payloadOf('process_gateway_event', payload, { eventId: 'string' });
      await services.gatewayEvents.process(eventId);
    },
    resume_billing_saga: async (payload) => {
      const { sagaId } = payloadOf('resume_billing_saga', payload, { sagaId: 'string' });
      await services.billing.resume(sagaId);
    },
    recover_billing_sagas: async () => {
      await services.billing.recover();
    },
    deliver_webhook: async (payload) => {
      const { deliveryId } = payloadOf('deliver_webhook', payload, { deliveryId: 'string' });
      await services.webhooks.attempt(deliveryId);
    },
    purge_webhook_log: async () => {
      await services.webhooks.purge();
    },
    send_sign_in_locked_email: async (payload) => {
      const { accountId, lockedUntil } = payloadOf('send_sign_in_locked_email', payload, { accountId: 'string', lockedUntil: 'string' });
      await services.signInGuard.sendLockedEmail(accountId, new Date(lockedUntil));
    },
    initialize_workspace: async (payload) => {
      const { workspaceId } = payloadOf('initialize_workspace', payload, { workspaceId: 'string' });
      await services.provisioning.initialize(workspaceId);
    },
  };
  return tasks as TaskList;
}
