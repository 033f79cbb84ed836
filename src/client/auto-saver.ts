import type { OnboardingClient } from './index.js';

/** What the AutoSaver reports: a save is running, everything is saved, a conflict waits for the caller, saving failed, or the connection is gone. */
export type SaveStatus = 'saving' | 'saved' | 'conflict' | 'error' | 'offline';

/** The part of onboarding the AutoSaver saves. */
export interface Draft {
  data: Record<string, unknown>;
  currentStep?: string | null;
}

/** The draft as the server holds it, handed to `onConflict` when someone else saved first. */
export interface ServerDraft {
  version: number;
  data: Record<string, unknown>;
  currentStep: string | null;
  updatedAt: string;
}

/** Timers, injectable so tests need not wait for real seconds. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Whether the device is online, and a way to hear when it comes back. Defaults to navigator.onLine and the window's `online` event. */
export interface Connectivity {
  isOnline(): boolean;
  /** Calls `callback` when the connection returns; returns a function that stops listening. */
  onOnline(callback: () => void): () => void;
}

export interface AutoSaverOptions {
  client: OnboardingClient;
  workspaceId: string;
  /** The version of the draft the caller started from (GET /v1/workspaces/{id}/onboarding answers it). */
  version: number;
  /** Every status change; `error` comes with what failed. */
  onStatus?: (status: SaveStatus, error?: unknown) => void;
  /** A save met a newer version: nothing more is sent until `resolveConflict` is called. */
  onConflict?: (conflict: { mine: Draft; theirs: ServerDraft }) => void;
  /** Quiet time after the last edit before saving (500 ms). */
  debounceMs?: number;
  /** Waits before each retry after a 5xx or a network error (2, 4 and 8 seconds); then `error`. */
  retryDelaysMs?: readonly number[];
  timers?: Timers;
  connectivity?: Connectivity;
}

const browserConnectivity: Connectivity = {
  isOnline: () => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine ?? true,
  onOnline(callback) {
    const target = globalThis as unknown as { addEventListener?: (type: string, listener: () => void) => void; removeEventListener?: (type: string, listener: () => void) => void };
    target.addEventListener?.('online', callback);
    return () => target.removeEventListener?.('online', callback);
  },
};

const realTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What one attempt to save came to. */
type Outcome = { kind: 'saved'; version: number } | { kind: 'conflict'; theirs: ServerDraft } | { kind: 'retry'; error: unknown; retryAfterMs?: number } | { kind: 'offline' } | { kind: 'failed'; error: unknown };

/**
 * The frontend half of resumable onboarding. Call `edit(draft)` on every change: the draft is saved
 * 500 ms after the last one with the version the previous save returned, one save at a time. A 409
 * hands the server's draft to `onConflict` and stops until `resolveConflict('theirs' | 'mine')`; a 5xx
 * or a network error is retried after 2, 4 and 8 seconds, then reported as `error`; offline, only the
 * latest edit is kept and sent when the connection returns.
 */
export class AutoSaver {
  #version: number;
  #status: SaveStatus = 'saved';
  /** The newest edit not yet sent. */
  #pending: Draft | undefined;
  #inFlight: Promise<void> | undefined;
  #timer: unknown;
  #attempt = 0;
  #conflict: { mine: Draft; theirs: ServerDraft } | undefined;
  #stopListening: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #options: Required<Omit<AutoSaverOptions, 'onStatus' | 'onConflict'>> & Pick<AutoSaverOptions, 'onStatus' | 'onConflict'>;

  constructor(options: AutoSaverOptions) {
    this.#options = { debounceMs: 500, retryDelaysMs: [2000, 4000, 8000], timers: realTimers, connectivity: browserConnectivity, ...options };
    this.#version = options.version;
  }

  /** The version of the last draft the server accepted (or the caller adopted). */
  get version(): number {
    return this.#version;
  }

  get status(): SaveStatus {
    return this.#status;
  }

  /** Records an edit; it is saved once edits pause for the debounce time. */
  edit(draft: Draft): void {
    this.#pending = draft;
    if (this.#conflict) {
      this.#conflict.mine = draft;
      return;
    }
    if (this.#status === 'offline' && !this.#options.connectivity.isOnline()) return;
    this.#attempt = 0;
    this.#schedule(this.#options.debounceMs);
  }

  /** Sends the pending edit now (say, when the page is hidden) and resolves once nothing is left to send or a save needs the caller. */
  async flush(): Promise<void> {
    this.#clearTimer();
    if (this.#conflict || !this.#pending) return this.idle();
    void this.#send();
    return this.idle();
  }

  /**
   * Ends a conflict: `theirs` adopts the server's draft and version (returned, to show it); `mine`
   * saves the latest local draft again on the server's version.
   */
  resolveConflict(choice: 'theirs' | 'mine'): Draft | undefined {
    const conflict = this.#conflict;
    if (!conflict) return undefined;
    this.#conflict = undefined;
    this.#version = conflict.theirs.version;
    if (choice === 'theirs') {
      this.#pending = undefined;
      this.#setStatus('saved');
      this.#settle();
      return { data: conflict.theirs.data, currentStep: conflict.theirs.currentStep };
    }
    this.#pending = conflict.mine;
    this.#attempt = 0;
    void this.#send();
    return conflict.mine;
  }

  /** Resolves when no save is pending, running or waiting for a retry (or a conflict or an error stops them). */
  idle(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops timers and listeners; pending edits are dropped (call `flush` first to keep them). */
  dispose(): void {
    this.#clearTimer();
    this.#stopListening?.();
    this.#pending = undefined;
    this.#settle(true);
  }

  #isSettled(): boolean {
    return this.#inFlight === undefined && this.#timer === undefined && (this.#pending === undefined || this.#conflict !== undefined || this.#status === 'error' || this.#status === 'offline');
  }

  #settle(force = false): void {
    if (!force && !this.#isSettled()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #setStatus(status: SaveStatus, error?: unknown): void {
    this.#status = status;
    this.#options.onStatus?.(status, error);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#clearTimer();
    this.#timer = this.#options.timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, ms);
  }

  /** Sends the newest edit unless a save is already running (it sends the newest edit when it ends). */
  async #send(): Promise<void> {
    if (this.#inFlight || this.#conflict || !this.#pending) return this.#settle();
    const draft = this.#pending;
    this.#pending = undefined;
    this.#setStatus('saving');
    this.#inFlight = this.#save(draft).then((outcome) => this.#after(draft, outcome));
    await this.#inFlight;
  }

  #after(draft: Draft, outcome: Outcome): void {
    this.#inFlight = undefined;
    switch (outcome.kind) {
      case 'saved':
        this.#version = outcome.version;
        this.#attempt = 0;
        if (this.#pending) void this.#send();
        else this.#setStatus('saved');
        break;
      case 'conflict':
        this.#conflict = { mine: this.#pending ?? draft, theirs: outcome.theirs };
        this.#pending = this.#conflict.mine;
        this.#setStatus('conflict');
        this.#options.onConflict?.(this.#conflict);
        break;
      case 'offline':
        // Only the latest edit is kept: a newer one replaces the draft that failed.
        this.#pending ??= draft;
        this.#setStatus('offline');
        this.#stopListening?.();
        this.#stopListening = this.#options.connectivity.onOnline(() => {
          this.#stopListening?.();
          this.#stopListening = undefined;
          this.#attempt = 0;
          void this.#send();
        });
        break;
      case 'retry': {
        this.#pending ??= draft;
        const delay = this.#options.retryDelaysMs[this.#attempt];
        if (delay === undefined) {
          this.#attempt = 0;
          this.#setStatus('error', outcome.error);
          break;
        }
        this.#attempt += 1;
        this.#schedule(Math.max(delay, outcome.retryAfterMs ?? 0));
        break;
      }
      case 'failed':
        this.#setStatus('error', outcome.error);
        break;
    }
    this.#settle();
  }

  async #save(draft: Draft): Promise<Outcome> {
    const { client, workspaceId, connectivity } = this.#options;
    try {
      const { data, error, response } = await client.PATCH('/v1/workspaces/{id}/onboarding/draft', {
        params: { path: { id: workspaceId } },
        body: { data: draft.data, ...(draft.currentStep ? { currentStep: draft.currentStep } : {}), version: this.#version },
      });
      if (data) return { kind: 'saved', version: data.version };
      const problem = error as { code?: string; current?: ServerDraft } | undefined;
      if (response.status === 409 && problem?.code === 'version_conflict' && problem.current) return { kind: 'conflict', theirs: problem.current };
      if (response.status >= 500) return { kind: 'retry', error: problem };
      if (response.status === 429) {
        // Too many saves: wait at least as long as the server asks.
        const retryAfter = Number(response.headers.get('retry-after'));
        return { kind: 'retry', error: problem, ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
      }
      return { kind: 'failed', error: problem };
    } catch (error) {
      // fetch rejects only when no answer came: the network, not the server.
      return connectivity.isOnline() ? { kind: 'retry', error } : { kind: 'offline' };
    }
  }
}
