import type { Task, TaskList } from 'graphile-worker';
import type { JobName, JobPayloads } from '../repositories/job-queue.js';

/** Tasks that only the crontab starts (see worker.ts). */
type CronTaskName = 'close_abandoned_workspaces' | 'queue_trial_emails' | 'purge_expired' | 'purge_webhook_log';
import type { Services } from '../services/index.js';

/** Rejects a malformed payload without retrying it forever: it would never become valid. */
function payloadOf<N extends JobName>(name: N, payload: unknown, keys: (keyof JobPayloads[N])[]): JobPayloads[N] {
  const ok = typeof payload === 'object' && payload !== null && keys.every((key) => typeof (payload as Record<PropertyKey, unknown>)[key] === 'string');
  if (!ok) throw new Error(`Job ${name} got a malformed payload.`);
  return payload as JobPayloads[N];
}

/** The graphile-worker task list: each task checks its payload and calls one service. */
export function createTaskList(services: Services): TaskList {
  const tasks: Partial<Record<JobName | CronTaskName, Task>> = {
    send_verification_email: async (payload) => {
      const { verificationId } = payloadOf('send_verification_email', payload, ['verificationId']);
      await services.email.sendVerification(verificationId);
    },
    send_invitation_email: async (payload) => {
      const { invitationId, placeholder } = payloadOf('send_invitation_email', payload, ['invitationId', 'placeholder']);
      await services.email.sendInvitation(invitationId, placeholder);
    },
    onboarding_completed: async (payload) => {
      const { workspaceId } = payloadOf('onboarding_completed', payload, ['workspaceId']);
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
      const input = payloadOf('send_trial_email', payload, ['workspaceId', 'kind', 'trialEndsAt']);
      await services.email.sendTrialEmail(input);
    },
    deliver_webhook: async (payload) => {
      const { deliveryId } = payloadOf('deliver_webhook', payload, ['deliveryId']);
      await services.webhooks.attempt(deliveryId);
    },
    purge_webhook_log: async () => {
      await services.webhooks.purge();
    },
    send_sign_in_locked_email: async (payload) => {
      const { accountId, lockedUntil } = payloadOf('send_sign_in_locked_email', payload, ['accountId', 'lockedUntil']);
      await services.signInGuard.sendLockedEmail(accountId, new Date(lockedUntil));
    },
    initialize_workspace: async (payload) => {
      const { workspaceId } = payloadOf('initialize_workspace', payload, ['workspaceId']);
      await services.provisioning.initialize(workspaceId);
    },
  };
  return tasks as TaskList;
}
