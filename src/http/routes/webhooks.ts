import { Type } from 'typebox';
import type { AttemptRow } from '../../repositories/events/webhook-repository.js';
import type { DeliveryView, EndpointView } from '../../services/events/webhook-service.js';
import { orderedRange } from '../../services/admin-service.js';
import { parseTimestamp } from '../../services/opaque-input.js';
import { iso } from '../presenters.js';
import { DateTime, Nullable, NullableDateTime, problems, Uuid } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';
import { adminActor, toDate } from './admin.js';

const security = [{ adminToken: [] }];
const tags = ['admin'];
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 25 });
const Cursor = Type.String({ minLength: 1, maxLength: 500, description: 'nextCursor of the previous page' });
const EventTypes = Nullable(Type.Array(Type.String({ pattern: '^[a-z][a-z_]*(\\.[a-z][a-z_]*)*(\\.\\*)?$', 'x-pattern-message': 'must be an event type in lower case, such as member.joined, or a prefix such as member.*', maxLength: 100 }), { minItems: 1, maxItems: 50, uniqueItems: true }), { description: 'Event types to receive (exact, or prefix.* such as member.*); null or absent: every event.' });
const Url = Type.String({ minLength: 8, maxLength: 2000, description: 'http(s) URL without credentials or #fragment, stored as the URL parser writes it (lower-case scheme and host, no default port); private addresses are refused in production unless WEBHOOK_ALLOW_PRIVATE=true.' });
const Description = Nullable(Type.String({ maxLength: 500 }));
const EndpointParams = Type.Object({ id: Uuid });
const DeliveryParams = Type.Object({ id: Uuid, deliveryId: Uuid });
const DeliveryStatus = Type.Enum(['pending', 'delivered', 'failed', 'cancelled'], { type: 'string' });

const ENDPOINT_ID = '7d9b0a4e-3c1f-4e55-9a57-0d6f1c2b8e11';
const EVENT_ID = '0f4c9a2e-8b1d-4c3a-9e7f-5a6b7c8d9e01';
const WORKSPACE_ID = '3b2c1d0e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
const endpointExample = {
  id: ENDPOINT_ID,
  url: 'https://crm.example.com/hooks/onboarding',
  description: 'CRM sync',
  eventTypes: ['member.*', 'workspace.created'],
  enabled: true,
  disabledReason: null,
  previousSecretExpiresAt: null,
  createdAt: '2026-11-29T10:00:00.000Z',
  updatedAt: '2026-11-29T10:00:00.000Z',
};
const attemptExample = { id: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b', attemptedAt: '2026-11-29T10:00:01.000Z', durationMs: 84, statusCode: 200, error: null, responseExcerpt: 'ok' };
const deliveryExample = {
  id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  eventId: EVENT_ID,
  eventType: 'member.invited',
  workspaceId: WORKSPACE_ID,
  sequence: 5,
  status: 'delivered',
  attempts: 1,
  nextAttemptAt: null,
  lastAttemptAt: '2026-11-29T10:00:01.000Z',
  deliveredAt: '2026-11-29T10:00:01.000Z',
  createdAt: '2026-11-29T10:00:00.000Z',
  lastAttempt: attemptExample,
};
const eventExample = {
  id: EVENT_ID,
  type: 'member.invited',
  occurredAt: '2026-11-29T10:00:00.000Z',
  workspaceId: WORKSPACE_ID,
  sequence: 5,
  data: { invitationId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', email: 'bo@example.com', role: 'member', invitedBy: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e' },
};
const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const nextCursor = 'WyIyMDI2LTExLTI5IDEwOjAwOjAwKzAwIiwiN2Q5YjBhNGUtM2MxZi00ZTU1LTlhNTctMGQ2ZjFjMmI4ZTExIl0';

const Endpoint = Type.Object({
  id: Uuid,
  url: Type.String(),
  description: Description,
  eventTypes: Nullable(Type.Array(Type.String())),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String()),
  previousSecretExpiresAt: Nullable(DateTime, { description: 'Until when the rotated-out secret still signs, during an overlap.' }),
  createdAt: DateTime,
  updatedAt: DateTime,
}, { examples: [endpointExample] });
const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({ description: 'The signing secret (whsec_...): shown this once only.' }),
}, { examples: [{ ...endpointExample, secret: SECRET_EXAMPLE }] });
const Attempt = Type.Object({
  id: Uuid,
  attemptedAt: DateTime,
  durationMs: Type.Integer(),
  statusCode: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  responseExcerpt: Nullable(Type.String()),
});
const Delivery = Type.Object({
  id: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  workspaceId: Nullable(Uuid),
  sequence: Nullable(Type.Integer()),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  nextAttemptAt: NullableDateTime,
  lastAttemptAt: NullableDateTime,
  deliveredAt: NullableDateTime,
  createdAt: DateTime,
  lastAttempt: Nullable(Attempt),
}, { examples: [deliveryExample] });
const Event = Type.Object({
  id: Uuid,
  type: Type.String(),
  occurredAt: DateTime,
  workspaceId: Nullable(Uuid),
  sequence: Nullable(Type.Integer()),
  data: Type.Record(Type.String(), Type.Unknown()),
}, { examples: [eventExample] });
const DeliveryWithLog = Type.Object({ ...Delivery.properties, attemptLog: Type.Array(Attempt) }, { examples: [{ ...deliveryExample, attemptLog: [attemptExample] }] });

function endpointJson(e: EndpointView) {
  return { ...e, previousSecretExpiresAt: iso(e.previousSecretExpiresAt), createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt) };
}

function attemptJson(a: AttemptRow) {
  return { ...a, attemptedAt: iso(a.attemptedAt) };
}

function deliveryJson(d: DeliveryView) {
  return {
    ...d,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    createdAt: iso(d.createdAt),
    lastAttempt: d.lastAttempt && attemptJson(d.lastAttempt),
  };
}

function deliveryWithLogJson(d: DeliveryView & { attemptLog: AttemptRow[] }) {
  return { ...deliveryJson(d), attemptLog: d.attemptLog.map(attemptJson) };
}

/** Webhook endpoints, their delivery log and replay: admin only (the bearer token). */
export async function webhookRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.addHook('preHandler', guards.requireAdmin);
  const webhooks = services.webhooks;

  app.post(
    '/v1/admin/webhooks',
    {
      schema: {
        tags,
        operationId: 'createWebhookEndpoint',
        summary: 'Create a webhook endpoint',
        description: 'Subscribes a URL to events. The answer holds the signing secret (whsec_...) once; it is never shown again (rotate it to get a new one). One endpoint per URL: a second one answers 409 endpoint_exists with the existing endpointId.',
        security,
        body: Type.Object(
          { url: Url, eventTypes: Type.Optional(EventTypes), description: Type.Optional(Description) },
          { additionalProperties: false, examples: [{ url: endpointExample.url, eventTypes: endpointExample.eventTypes, description: 'CRM sync' }] },
        ),
        response: { 201: EndpointWithSecret, ...problems(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await webhooks.create(request.body, adminActor(request));
      return reply.code(201).send({ ...endpointJson(endpoint), secret });
    },
  );

  app.get(
    '/v1/admin/webhooks',
    {
      schema: {
        tags,
        operationId: 'listWebhookEndpoints',
        summary: 'List webhook endpoints',
        description: 'Newest first, with cursor pagination; never the secrets.',
        security,
        querystring: Type.Object({ enabled: Type.Optional(Type.Boolean()), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }),
        response: {
          200: Type.Object({ items: Type.Array(Endpoint), nextCursor: Nullable(Type.String()) }, { examples: [{ items: [endpointExample], nextCursor }] }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const { limit = 25, cursor, enabled } = request.query;
      const page = await webhooks.list({ enabled }, { limit, cursor });
      return { items: page.items.map(endpointJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/webhooks/:id',
    {
      schema: {
        tags,
        operationId: 'getWebhookEndpoint',
        summary: 'Get a webhook endpoint',
        description: 'The endpoint without its secret.',
        security,
        params: EndpointParams,
        response: { 200: Endpoint, ...problems(400, 401, 404) },
      },
    },
    async (request) => endpointJson(await webhooks.get(request.params.id)),
  );

  app.patch(
    '/v1/admin/webhooks/:id',
    {
      schema: {
        tags,
        operationId: 'updateWebhookEndpoint',
        summary: 'Update a webhook endpoint',
        description: 'Changes the URL (checked like a new one; 409 endpoint_exists when another endpoint has it), the event types, the description, or enables and disables it.',
        security,
        params: EndpointParams,
        body: Type.Object(
          { url: Type.Optional(Url), eventTypes: Type.Optional(EventTypes), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1, examples: [{ eventTypes: ['member.*'], enabled: true }] },
        ),
        response: { 200: Endpoint, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => endpointJson(await webhooks.update(request.params.id, request.body, adminActor(request))),
  );

  app.post(
    '/v1/admin/webhooks/:id/disable',
    {
      schema: {
        tags,
        operationId: 'disableWebhookEndpoint',
        summary: 'Disable a webhook endpoint',
        description: 'Stops deliveries to it: pending ones are cancelled when their turn comes. Enable it again with PATCH {"enabled": true}.',
        security,
        params: EndpointParams,
        response: { 200: Endpoint, ...problems(400, 401, 404) },
      },
    },
    async (request) => endpointJson(await webhooks.update(request.params.id, { enabled: false }, adminActor(request))),
  );

  app.delete(
    '/v1/admin/webhooks/:id',
    {
      schema: {
        tags,
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete a webhook endpoint',
        description: 'Deletes the endpoint with its delivery log.',
        security,
        params: EndpointParams,
        response: { 204: Type.Null(), ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.delete(request.params.id, adminActor(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/admin/webhooks/:id/rotate-secret',
    {
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        summary: 'Rotate the signing secret',
        description: 'Answers a new secret, shown once. For 24 hours deliveries carry signatures by both the new and the old secret, so the receiver can switch without losing events.',
        security,
        params: EndpointParams,
        response: { 200: EndpointWithSecret, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const { endpoint, secret } = await webhooks.rotateSecret(request.params.id, adminActor(request));
      return { ...endpointJson(endpoint), secret };
    },
  );

  app.post(
    '/v1/admin/webhooks/:id/test',
    {
      schema: {
        tags,
        operationId: 'testWebhookEndpoint',
        summary: 'Send a test event',
        description: 'Sends a signed webhook.test event to this endpoint now, once (no retries), and answers with the logged delivery and its attempt.',
        security,
        params: EndpointParams,
        response: { 200: DeliveryWithLog, ...problems(400, 401, 404) },
      },
    },
    async (request) => deliveryWithLogJson(await webhooks.test(request.params.id)),
  );

  app.post(
    '/v1/admin/webhooks/:id/replay',
    {
      schema: {
        tags,
        operationId: 'replayWebhookEvents',
        summary: 'Replay past events to an endpoint',
        description:
          'Queues every event the endpoint subscribes to from `since` (to `until`, of one workspace if given), oldest first, at most 10,000 per call, with the original webhook-ids and a fresh retry schedule: a backfill for a new endpoint or a replay after an outage. 409 when the endpoint is disabled.',
        security,
        params: EndpointParams,
        body: Type.Object(
          { since: DateTime, until: Type.Optional(DateTime), workspaceId: Type.Optional(Uuid) },
          { additionalProperties: false, examples: [{ since: '2026-11-28T00:00:00Z', workspaceId: WORKSPACE_ID }] },
        ),
        response: {
          202: Type.Object(
            { queued: Type.Integer(), truncated: Type.Boolean({ description: 'true when the limit was reached: replay the rest with a later since' }) },
            { examples: [{ queued: 42, truncated: false }] },
          ),
          ...problems(400, 401, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { since, until, workspaceId } = request.body;
      // Date-times the schema checked, decoded by the function that checked them.
      const result = await webhooks.replay(request.params.id, { since: parseTimestamp(since)!, until: until ? parseTimestamp(until) : undefined, workspaceId });
      return reply.code(202).send(result);
    },
  );

  app.get(
    '/v1/admin/events',
    {
      schema: {
        tags,
        operationId: 'listEvents',
        summary: 'The event log',
        description: 'Every recorded event, newest first, with filters and cursor pagination; afterSequence with workspaceId finds the events after the last one a receiver has.',
        security,
        querystring: Type.Object({
          workspaceId: Type.Optional(Uuid),
          type: Type.Optional(Type.String({ maxLength: 100 })),
          afterSequence: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          from: Type.Optional(DateTime),
          to: Type.Optional(DateTime),
          limit: Type.Optional(Limit),
          cursor: Type.Optional(Cursor),
        }),
        response: {
          200: Type.Object({ items: Type.Array(Event), nextCursor: Nullable(Type.String()) }, { examples: [{ items: [eventExample], nextCursor }] }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const { limit = 25, cursor, from, to, ...filter } = request.query;
      const page = await webhooks.events({ ...filter, ...orderedRange({ from: toDate(from), to: toDate(to) }) }, { limit, cursor });
      return { items: page.items.map((e) => ({ ...e, occurredAt: iso(e.occurredAt) })), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        summary: 'The delivery log of an endpoint',
        description: 'Deliveries newest first, each with its event and latest attempt; filters and cursor pagination.',
        security,
        params: EndpointParams,
        querystring: Type.Object({
          status: Type.Optional(DeliveryStatus),
          eventType: Type.Optional(Type.String({ maxLength: 100 })),
          eventId: Type.Optional(Uuid),
          workspaceId: Type.Optional(Uuid),
          limit: Type.Optional(Limit),
          cursor: Type.Optional(Cursor),
        }),
        response: {
          200: Type.Object({ items: Type.Array(Delivery), nextCursor: Nullable(Type.String()) }, { examples: [{ items: [deliveryExample], nextCursor }] }),
          ...problems(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { limit = 25, cursor, ...filter } = request.query;
      const page = await webhooks.deliveries(request.params.id, filter, { limit, cursor });
      return { items: page.items.map(deliveryJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/webhooks/:id/deliveries/:deliveryId',
    {
      schema: {
        tags,
        operationId: 'getWebhookDelivery',
        summary: 'One delivery with every attempt',
        description: 'Each attempt with its time, duration, status code or error, and the start of the response.',
        security,
        params: DeliveryParams,
        response: { 200: DeliveryWithLog, ...problems(400, 401, 404) },
      },
    },
    async (request) => deliveryWithLogJson(await webhooks.delivery(request.params.id, request.params.deliveryId)),
  );

  app.post(
    '/v1/admin/webhooks/:id/deliveries/:deliveryId/retry',
    {
      schema: {
        tags,
        operationId: 'retryWebhookDelivery',
        summary: 'Re-send a delivery now',
        description: 'Replays the event to this endpoint now, with the same webhook-id, whatever the delivery state; answers with the result. 409 when the endpoint is disabled or an attempt is in flight.',
        security,
        params: DeliveryParams,
        response: { 200: DeliveryWithLog, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => deliveryWithLogJson(await webhooks.retry(request.params.id, request.params.deliveryId)),
  );
}
