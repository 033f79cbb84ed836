import { createHash } from 'node:crypto';
import type { StatusChange, StatusRow } from '../repositories/onboarding-repository.js';

/** A cached status answer with its ETag. */
export interface CachedStatus {
  workspaces: StatusRow[];
  etag: string;
}

/**
 * In-process cache of each account's onboarding statuses, for the check frontends make on every
 * navigation. Entries live `ttlSeconds` at most and are dropped the moment a workspace they mention
 * changes (locally, and in other instances through PostgreSQL NOTIFY).
 */
export class StatusCache {
  private readonly entries = new Map<string, CachedStatus & { expiresAt: number }>();

  constructor(private readonly ttlSeconds: number) {}

  get(accountId: string): CachedStatus | undefined {
    const entry = this.entries.get(accountId);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(accountId);
      return undefined;
    }
    return entry;
  }

  set(accountId: string, workspaces: StatusRow[]): CachedStatus {
    const etag = `"${createHash('sha1').update(JSON.stringify(workspaces)).digest('base64url')}"`;
    const entry = { workspaces, etag, expiresAt: Date.now() + this.ttlSeconds * 1000 };
    if (this.ttlSeconds > 0) this.entries.set(accountId, entry);
    return entry;
  }

  /** Drops every entry that mentions one of the workspaces, and the given accounts' entries. */
  invalidate(change: StatusChange): void {
    const workspaceIds = new Set(change.workspaceIds ?? []);
    for (const accountId of change.accountIds ?? []) this.entries.delete(accountId);
    if (workspaceIds.size === 0) return;
    for (const [accountId, entry] of this.entries) {
      if (entry.workspaces.some((w) => workspaceIds.has(w.id))) this.entries.delete(accountId);
    }
  }

  /** Forgets everything: after a lost LISTEN connection, changes may have been missed. */
  clear(): void {
    this.entries.clear();
  }

  /** Applies a NOTIFY payload from any instance. */
  applyNotification(payload: string): void {
    try {
      this.invalidate(JSON.parse(payload) as StatusChange);
    } catch {
      this.clear();
    }
  }
}
