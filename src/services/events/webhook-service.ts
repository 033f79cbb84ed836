import { Webhook } from 'standardwebhooks';
import type { Db } from '../../db/database.js';
import type { DeliveryStatus } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import type { Actor, AuditRepository } from '../../repositories/audit-repository.js';
import { DELIVER_TASK, deliveryJobKey, type EventFilter, type EventRepository, type RecordedEvent } from '../../repositories/events/event-repository.js';
import type { AttemptRow, DeliveryFilter, DeliveryRow, EndpointRow, WebhookRepository } from '../../repositories/events/webhook-repository.js';
import { enqueueJob } from '../../repositories/job-queue.js';
import { keysetOf, keysetPage, type Page } from '../admin-service.js';
import { pick } from '../views.js';
import { EVENT_TYPES } from './catalogue.js';
import type { EventRecorder } from './event-recorder.js';
import { postWebhook, refuseUrl } from './webhook-sender.js';
import { generateWebhookSecret, type SecretBox } from './webhook-secrets.js';

/** Delays before each retry after a failed attempt (10 attempts over about three days); then the delivery fails. */
export const RETRY_DELAYS_SECONDS = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600] as const;
/** The most events one replay call queues. */
export const REPLAY_LIMIT = 10_000;
/** How long a rotated-out secret keeps signing alongside the new one. */
export const SECRET_OVERLAP_HOURS = 24;

/** The columns of an endpoint that admins see: never its secrets. */
const SHOWN = ['id', 'url', 'description', 'eventTypes', 'enabled', 'disabledReason', 'createdAt', 'updatedAt'] as const;

/** An endpoint as admins see it: never its secret. */
export type EndpointView = Pick<EndpointRow, (typeof SHOWN)[number]> & { previousSecretExpiresAt: Date | null };

/** A delivery of the log. */
export type DeliveryView = Omit<DeliveryRow, 'keysetAt' | 'sequence'> & { sequence: number | null };

/** What an admin may change on an endpoint. */
export interface EndpointPatch {
  url?: string;
  description?: string | null;
  eventTypes?: string[] | null;
  enabled?: boolean;
}

function view(row: EndpointRow): EndpointView {
  return {
    ...pick(row, ...SHOWN),
    previousSecretExpiresAt: row.previousExpiresAt && row.previousExpiresAt.getTime() > Date.now() ? row.previousExpiresAt : null,
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  const { keysetAt: _keysetAt, sequence, ...rest } = row;
  return { ...rest, sequence: sequence === null ? null : Number(sequence) };
}

const endpointNotFound = () => new AppError('not_found', 'No webhook endpoint with this id exists.');
const deliveryNotFound = () => new AppError('not_found', 'This endpoint has no delivery with this id.');

/** Event types an endpoint may subscribe to: a known type, or `prefix.*` for a known prefix. */
function checkEventTypes(types: string[] | null | undefined): void {
  if (!types) return;
  const prefixes = new Set(EVENT_TYPES.map((type) => type.split('.')[0]));
  const unknown = types.filter((type) => !(EVENT_TYPES as readonly string[]).includes(type) && !(type.endsWith('.*') && prefixes.has(type.slice(0, -2))));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `Unknown event types: ${unknown.join(', ')}. Use types of the event catalogue, or prefix.* (e.g. member.*).`, {
      fields: [{ field: 'eventTypes', message: 'holds unknown event types' }],
    });
  }
}

/**
 * Webhook endpoints and the delivery of events to them, per Standard Webhooks: each attempt signs
 * `id.timestamp.body` with every live secret, 2xx delivers, 410 disables the endpoint, anything else
 * retries on RETRY_DELAYS_SECONDS; every attempt is logged.
 */
export class WebhookService {
  constructor(
    private readonly deps: {
      db: Db;
      webhooks: WebhookRepository;
      eventRows: EventRepository;
      events: EventRecorder;
      audit: AuditRepository;
      secrets: SecretBox;
      allowPrivate: boolean;
      timeoutMs: number;
      logRetentionDays: number;
    },
  ) {}

  /**
   * Creates an endpoint; the answer holds its signing secret, shown this once only. One endpoint per
   * URL: a second create of the same URL (a double click, a retried script) answers 409
   * `endpoint_exists` with its id, instead of sending every event there twice under two secrets.
   */
  async create(input: { url: string; eventTypes?: string[] | null; description?: string | null }, actor: Actor): Promise<{ endpoint: EndpointView; secret: string }> {
    const url = await this.checkUrl(input.url);
    checkEventTypes(input.eventTypes);
    const secret = generateWebhookSecret();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      await refuseTakenUrl(this.deps.webhooks.withTx(trx), url);
      const created = await this.deps.webhooks.withTx(trx).insertEndpoint({
        url,
        description: input.description ?? null,
        eventTypes: input.eventTypes ?? null,
        secret: this.deps.secrets.seal(secret),
      });
      await this.deps.audit.withTx(trx).insert({ actor, action: 'webhook.created', data: { endpointId: created.id, url: created.url, eventTypes: created.eventTypes } });
      return created;
    });
    return { endpoint: view(row), secret };
  }

  async list(filter: { enabled?: boolean }, page: { limit: number; cursor?: string }): Promise<Page<EndpointView>> {
    const found = await keysetPage(page, (after, limit) => this.deps.webhooks.listEndpoints(filter, after, limit));
    return { items: found.items.map(view), nextCursor: found.nextCursor };
  }

  async get(id: string): Promise<EndpointView> {
    const row = await this.deps.webhooks.findEndpoint(id);
    if (!row) throw endpointNotFound();
    return view(row);
  }

  /** Changes an endpoint; a new URL is checked like a new endpoint's. */
  async update(id: string, patch: EndpointPatch, actor: Actor): Promise<EndpointView> {
    const changes = patch.url === undefined ? patch : { ...patch, url: await this.checkUrl(patch.url) };
    checkEventTypes(patch.eventTypes);
    const row = await this.deps.db.transaction().execute(async (trx) => {
      if (changes.url !== undefined) await refuseTakenUrl(this.deps.webhooks.withTx(trx), changes.url, id);
      const updated = await this.deps.webhooks.withTx(trx).updateEndpoint(id, changes);
      if (!updated) throw endpointNotFound();
      await this.deps.audit.withTx(trx).insert({ actor, action: 'webhook.updated', data: { endpointId: id, changes } });
      return updated;
    });
    return view(row);
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await this.deps.webhooks.withTx(trx).deleteEndpoint(id))) throw endpointNotFound();
      await this.deps.audit.withTx(trx).insert({ actor, action: 'webhook.deleted', data: { endpointId: id } });
    });
  }

  /** A new signing secret, shown once; the old one keeps signing for SECRET_OVERLAP_HOURS. */
  async rotateSecret(id: string, actor: Actor): Promise<{ endpoint: EndpointView; secret: string }> {
    const secret = generateWebhookSecret();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const rotated = await this.deps.webhooks.withTx(trx).rotateSecret(id, this.deps.secrets.seal(secret), SECRET_OVERLAP_HOURS);
      if (!rotated) throw endpointNotFound();
      await this.deps.audit.withTx(trx).insert({ actor, action: 'webhook.secret_rotated', data: { endpointId: id } });
      return rotated;
    });
    return { endpoint: view(row), secret };
  }

  /** Sends a `webhook.test` event to this endpoint only, now, once, and answers with the logged delivery. */
  async test(id: string): Promise<DeliveryView & { attemptLog: AttemptRow[] }> {
    const endpoint = await this.deps.webhooks.findEndpoint(id);
    if (!endpoint) throw endpointNotFound();
    const deliveryId = await this.deps.db.transaction().execute(async (trx) => {
      const [event] = await this.deps.events.record(trx, {
        type: 'webhook.test',
        workspaceId: null,
        data: { endpointId: id, message: 'A test event sent from the admin API.' },
      });
      return this.deps.webhooks.withTx(trx).insertDelivery(event!.id, id);
    });
    await this.attempt(deliveryId, 'test');
    return this.delivery(id, deliveryId);
  }

  /**
   * Queues the endpoint's events since `since` again, with their original webhook-ids and a fresh
   * retry schedule: a backfill for a new endpoint, or a replay after a receiver's outage.
   */
  async replay(endpointId: string, range: { since: Date; until?: Date; workspaceId?: string }): Promise<{ queued: number; truncated: boolean }> {
    const endpoint = await this.deps.webhooks.findEndpoint(endpointId);
    if (!endpoint) throw endpointNotFound();
    if (!endpoint.enabled) throw new AppError('endpoint_disabled', 'This endpoint is disabled. Enable it first, then replay.');
    if (range.until && range.until <= range.since) {
      throw new AppError('validation_failed', '`since` must be before `until`.', { fields: [{ field: 'since', message: 'must be before until' }] });
    }
    const queued = await this.deps.webhooks.replay(endpointId, range, REPLAY_LIMIT);
    return { queued, truncated: queued === REPLAY_LIMIT };
  }

  /** The event log, newest first. */
  async events(filter: EventFilter, page: { limit: number; cursor?: string }): Promise<Page<RecordedEvent>> {
    const found = await keysetPage(page, (after, limit) => this.deps.eventRows.list(filter, after, limit));
    return { items: found.items.map(({ keysetAt: _keysetAt, ...event }) => event), nextCursor: found.nextCursor };
  }

  /** The endpoint's delivery log, newest first. */
  async deliveries(endpointId: string, filter: DeliveryFilter, page: { limit: number; cursor?: string }): Promise<Page<DeliveryView>> {
    keysetOf(page.cursor); // a forged cursor answers 400 whatever the endpoint
    await this.get(endpointId);
    const found = await keysetPage(page, (after, limit) => this.deps.webhooks.listDeliveries(endpointId, filter, after, limit));
    return { items: found.items.map(deliveryView), nextCursor: found.nextCursor };
  }

  /** One delivery with every attempt, oldest first. */
  async delivery(endpointId: string, deliveryId: string): Promise<DeliveryView & { attemptLog: AttemptRow[] }> {
    const [row] = await this.deps.webhooks.listDeliveries(endpointId, {}, undefined, 1, deliveryId);
    if (!row) throw deliveryNotFound();
    return { ...deliveryView(row), attemptLog: await this.deps.webhooks.listAttempts(deliveryId) };
  }

  /** Re-sends a delivery now, with the same webhook-id, whatever its state; answers with the result. */
  async retry(endpointId: string, deliveryId: string): Promise<DeliveryView & { attemptLog: AttemptRow[] }> {
    const endpoint = await this.deps.webhooks.findEndpoint(endpointId);
    if (!endpoint) throw endpointNotFound();
    if (!endpoint.enabled) throw new AppError('endpoint_disabled', 'This endpoint is disabled. Enable it first, then retry the delivery.');
    const [row] = await this.deps.webhooks.listDeliveries(endpointId, {}, undefined, 1, deliveryId);
    if (!row) throw deliveryNotFound();
    if (!(await this.attempt(deliveryId, 'manual'))) {
      throw new AppError('delivery_in_progress', 'This delivery is being sent right now. Look at its log in a moment.');
    }
    return this.delivery(endpointId, deliveryId);
  }

  /**
   * One delivery attempt. `job`: the scheduled attempt of a pending delivery; `manual`: a re-send
   * from the log (any state); `test`: one attempt, no retries. False when the delivery was not
   * claimed (finished, or another attempt is in flight).
   */
  async attempt(deliveryId: string, mode: 'job' | 'manual' | 'test' = 'job'): Promise<boolean> {
    const webhooks = this.deps.webhooks;
    const claimed = await webhooks.claimDelivery(deliveryId, mode !== 'job', Math.ceil(this.deps.timeoutMs / 1000) + 60);
    if (!claimed) {
      if (mode === 'job') await this.requeueAfterClaim(deliveryId);
      return false;
    }
    // A disabled endpoint gets no scheduled delivery; an admin's test may still check it before enabling it.
    if (!claimed.enabled && mode !== 'test') {
      await webhooks.cancel(deliveryId);
      return true;
    }
    const body = JSON.stringify({
      type: claimed.eventType,
      timestamp: claimed.occurredAt.toISOString(),
      data: { ...claimed.data, workspaceId: claimed.workspaceId, sequence: claimed.sequence === null ? null : Number(claimed.sequence) },
    });
    const sentAt = new Date();
    const secrets = [claimed.secret, ...(claimed.previousSecret ? [claimed.previousSecret] : [])].map((sealed) => this.deps.secrets.open(sealed));
    const headers = {
      'webhook-id': claimed.eventId,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      // Several signatures, space-separated: a receiver still holding the old secret verifies too.
      'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(claimed.eventId, sentAt, body)).join(' '),
    };
    const outcome = await postWebhook(claimed.url, headers, body, { timeoutMs: this.deps.timeoutMs, allowPrivate: this.deps.allowPrivate });
    const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const gone = outcome.statusCode === 410;
    const retryInSeconds = delivered || gone || mode === 'test' ? undefined : RETRY_DELAYS_SECONDS[claimed.attempts];
    const status: DeliveryStatus = delivered ? 'delivered' : retryInSeconds === undefined ? 'failed' : 'pending';
    await this.deps.db.transaction().execute(async (trx) => {
      const { nextAttemptAt } = await webhooks.withTx(trx).finishAttempt(deliveryId, outcome, { status, retryInSeconds });
      if (nextAttemptAt) {
        // Re-queued under the same key with our exact schedule; this job then ends as done.
        await enqueueJob(trx, DELIVER_TASK, { deliveryId }, { jobKey: deliveryJobKey(claimed.eventId, claimed.endpointId), runAt: nextAttemptAt });
      }
      if (gone) {
        await webhooks.withTx(trx).updateEndpoint(claimed.endpointId, { enabled: false, disabledReason: 'The endpoint answered 410 Gone.' });
        await this.deps.audit.withTx(trx).insert({ actor: { type: 'system', id: null }, action: 'webhook.disabled', data: { endpointId: claimed.endpointId, reason: 'gone' } });
      }
    });
    return true;
  }

  /**
   * A scheduled attempt that finds the delivery claimed by another comes back when that claim ends:
   * the other attempt re-queues the delivery when it finishes, but one whose process died (kill -9)
   * never will, and the delivery would stay pending with no job.
   */
  private async requeueAfterClaim(deliveryId: string): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const inFlight = await this.deps.webhooks.withTx(trx).lockInFlight(deliveryId);
      if (!inFlight) return;
      await enqueueJob(trx, DELIVER_TASK, { deliveryId }, { jobKey: deliveryJobKey(inFlight.eventId, inFlight.endpointId), runAt: inFlight.lockedUntil });
    });
  }

  /** Deletes finished deliveries and events older than WEBHOOK_LOG_RETENTION_DAYS, in batches. */
  async purge(batch = 1000): Promise<{ deliveries: number; events: number }> {
    const days = this.deps.logRetentionDays;
    let deliveries = 0;
    for (let n = batch; n === batch; deliveries += n) n = await this.deps.webhooks.deleteFinishedOlderThan(days, batch);
    let events = 0;
    for (let n = batch; n === batch; events += n) n = await this.deps.eventRows.deleteOlderThan(days, batch);
    return { deliveries, events };
  }

  /**
   * The URL as it will be called, or 400: what the WHATWG URL parser makes of it (trimmed, scheme and
   * host lower-case, host in punycode, default port dropped), the form one-endpoint-per-URL compares.
   */
  private async checkUrl(url: string): Promise<string> {
    const reason = await refuseUrl(url, this.deps.allowPrivate);
    if (reason) throw new AppError('validation_failed', `The webhook URL ${reason}.`, { fields: [{ field: 'url', message: reason }] });
    return canonicalUrl(url);
  }
}

/**
 * The form an endpoint's URL is kept and compared in: as the WHATWG URL parser writes it (lower-case
 * scheme and host, no default port), without an empty query (`/h?` is `/h`) or the root-zone dot of
 * a fully qualified host (`example.com.` is `example.com`), with percent-encodings normalised
 * (`/%68` is `/h`): each of those reaches the same receiver.
 */
function canonicalUrl(raw: string): string {
  const url = new URL(raw);
  if (url.search === '') url.search = '';
  url.hostname = url.hostname.replace(/\.$/, '');
  url.pathname = normalizePercentEncoding(url.pathname);
  url.search = normalizePercentEncoding(url.search);
  return url.href;
}

/**
 * Percent-encodings as RFC 3986 (section 6.2.2) compares them: an encoded unreserved character
 * (letters, digits, - . _ ~) is the character itself, and hex digits are upper case.
 */
function normalizePercentEncoding(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}

/** 409 `endpoint_exists` when another endpoint already has `url` (checked under the URL's lock). */
async function refuseTakenUrl(webhooks: WebhookRepository, url: string, exceptId?: string): Promise<void> {
  const existing = await webhooks.lockUrl(url, exceptId);
  if (existing) {
    throw new AppError('endpoint_exists', 'An endpoint with this URL exists already: change or re-enable that one.', {
      fields: [{ field: 'url', message: 'is the URL of another endpoint' }],
      extra: { endpointId: existing },
    });
  }
}
