/** Example values for the OpenAPI document: one consistent story (Ada's workspace Acme), reused by every schema. */

export const accountId = '0b8f6c1e-3d2a-4f5b-9c7d-1e2f3a4b5c6d';
export const workspaceId = '6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c';
export const invitationId = 'a3c1e5f7-2b4d-4e6f-8a0b-1c2d3e4f5a6b';
export const teammateId = 'c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f';
const at = '2026-11-29T10:00:00.000Z';
const trialEnd = '2026-12-13T10:00:00.000Z';

export const account = { id: accountId, email: 'ada@example.com', name: 'Ada', emailVerified: true };

export const workspace = {
  id: workspaceId,
  name: 'Acme',
  plan: 'trial',
  status: 'active',
  trialEndsAt: trialEnd,
  trialState: 'active',
  initializedAt: '2026-11-29T10:00:02.000Z',
  createdAt: at,
};

export const membership = { ...workspace, role: 'owner' };

export const invitation = {
  id: invitationId,
  email: 'grace@example.com',
  role: 'member',
  status: 'pending',
  expiresAt: '2026-12-06T10:00:00.000Z',
  invitedBy: { accountId, name: 'Ada' },
  createdAt: at,
};

export const member = { accountId, name: 'Ada', email: 'ada@example.com', role: 'owner', joinedAt: at };

export const onboarding = {
  status: 'in_progress',
  steps: [
    { key: 'profile_complete', completed: true, completedAt: '2026-11-29T10:05:00.000Z' },
    { key: 'first_integration', completed: false, completedAt: null },
  ],
  completedAt: null,
  currentStep: 'first_integration',
  data: { companySize: '11-50', integration: { kind: 'slack' } },
  version: 4,
  updatedAt: '2026-11-29T10:06:00.000Z',
};

export const adminWorkspace = {
  id: workspaceId,
  name: 'Acme',
  plan: 'trial',
  status: 'active',
  createdAt: at,
  trialEndsAt: trialEnd,
  trialDaysLeft: 14,
  trialState: 'active',
  owner: { accountId, email: 'ada@example.com', name: 'Ada', emailVerified: true },
  memberCount: 2,
  pendingInvitations: 1,
  onboarding: { status: 'in_progress', completedSteps: ['profile_complete'], completedAt: null },
  initializedAt: '2026-11-29T10:00:02.000Z',
};

export const auditEvent = {
  id: 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b',
  occurredAt: at,
  actorType: 'account',
  actorId: accountId,
  action: 'account.registered',
  workspaceId,
  accountId,
  data: { email: 'ada@example.com', workspaceName: 'Acme' },
};

export const token = 'Jm3q5x0Qk2y8VvR1cL9dP4sT7wZ6bN0eA5fH2gK8uYc';
