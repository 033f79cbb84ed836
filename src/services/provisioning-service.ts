import type { Db } from '../db/database.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { EventRecorder } from './events/event-recorder.js';

/** The settings every new workspace starts with. */
export function defaultSettings(): Record<string, unknown> {
  return { locale: 'en', timezone: 'UTC', notifications: { product: true, billing: true } };
}

/** Provisions workspaces in the background, idempotently. */
export class ProvisioningService {
  constructor(
    private readonly workspaces: WorkspaceRepository,
    private readonly provisionUrl: string | undefined,
    private readonly db: Db,
    private readonly events: EventRecorder,
  ) {}

  /**
   * The settings a new workspace gets in the statement that creates it, when initialising needs
   * nothing outside the database (WORKSPACE_PROVISION_URL unset): that saves a whole job per
   * sign-up. Undefined when the host product must be called, which the job does (and retries).
   */
  inlineSettings(): Record<string, unknown> | undefined {
    return this.provisionUrl ? undefined : defaultSettings();
  }

  /**
   * Gives the workspace its default settings and, when configured, asks the host product to create
   * its own data (with an Idempotency-Key, so a retried call is harmless). Sets initialized_at only
   * when all of it succeeded; throws otherwise so the job retries.
   */
  async initialize(workspaceId: string): Promise<void> {
    const workspace = await this.workspaces.findById(workspaceId);
    if (!workspace || workspace.initializedAt) return;
    const settings = defaultSettings();
    if (this.provisionUrl) {
      const response = await fetch(this.provisionUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `workspace-init:${workspace.id}` },
        body: JSON.stringify({ workspaceId: workspace.id, name: workspace.name, plan: workspace.plan, settings }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`Workspace provisioning answered ${response.status}; the job will retry.`);
    }
    await this.db.transaction().execute(async (trx) => {
      if (!(await this.workspaces.withTx(trx).markInitialized(workspace.id, settings))) return;
      await this.events.record(trx, { type: 'workspace.initialized', workspaceId: workspace.id, data: { workspaceId: workspace.id } });
    });
  }
}
