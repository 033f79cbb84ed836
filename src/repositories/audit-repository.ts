import type { ActorType } from '../db/schema.js';
import { Repository } from './repository.js';

/** Who did something: an account, an admin, or the system itself. */
export interface Actor {
  type: ActorType;
  id: string | null;
}

/** One state change to record; `data` must never hold a password, a token or a token hash. */
export interface AuditEventInput {
  actor: Actor;
  action: string;
  workspaceId?: string | null;
  accountId?: string | null;
  data?: Record<string, unknown>;
}

/** SQL for audit_events. */
export class AuditRepository extends Repository {
  /** Records events; called with the transaction of the change they describe. */
  async insert(...events: AuditEventInput[]): Promise<void> {
    if (events.length === 0) return;
    await this.db
      .insertInto('audit_events')
      .values(
        events.map((event) => ({
          actor_type: event.actor.type,
          actor_id: event.actor.id,
          action: event.action,
          workspace_id: event.workspaceId ?? null,
          account_id: event.accountId ?? null,
          data: JSON.stringify(event.data ?? {}),
        })),
      )
      .execute();
  }
}
