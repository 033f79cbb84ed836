import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { Test } from 'tap';

/**
 * A local stand-in for the Stripe API, speaking the subset the billing code uses, so tests run the
 * real `stripe` SDK over real HTTP. Form-encoded bodies with bracket nesting; idempotent replay
 * (`Idempotent-Replayed: true`); 400 idempotency_error when a key comes back with other parameters;
 * 402 card_declined for the declining test cards; and injected failures.
 */
export interface StripeStandIn {
  /** For STRIPE_API_BASE. */
  url: string;
  secretKey: string;
  webhookSecret: string;
  /** Every request received, in order (replays and failed ones too). */
  requests: RecordedRequest[];
  customers: Map<string, StandInObject>;
  subscriptions: Map<string, StandInObject>;
  setupIntents: Map<string, StandInObject>;
  paymentMethods: Map<string, StandInObject>;
  /** The next `times` requests matching `method` and `path` fail as `kind`. */
  fail(method: string, path: RegExp, kind: FaultKind, times?: number): void;
  /** The browser finished (or failed) the 3-D Secure challenge of a SetupIntent. */
  finishChallenge(setupIntentId: string, succeeded: boolean): void;
  /** A signed webhook delivery of an event about `object`. */
  webhook(type: string, object: StandInObject, options?: { created?: number; id?: string }): { payload: string; signature: string; id: string };
  /** Requests that created or changed something (not replays), e.g. to count gateway calls. */
  writes(): RecordedRequest[];
  /** Customers that exist (not deleted). */
  liveCustomers(): StandInObject[];
}

export type FaultKind = '500' | '429' | 'timeout' | 'drop_after_create';
export type StandInObject = Record<string, unknown> & { id: string };
export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  replayed: boolean;
  fault: FaultKind | undefined;
  status: number;
}

/** Stripe's test payment methods (https://docs.stripe.com/testing#cards) and what they do. */
const TEST_CARDS: Record<string, { brand: string; last4: string; outcome: 'ok' | 'declined' | 'insufficient_funds' | 'authentication_required' }> = {
  pm_card_visa: { brand: 'visa', last4: '4242', outcome: 'ok' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', outcome: 'ok' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', outcome: 'declined' },
  pm_card_insufficientFunds: { brand: 'visa', last4: '9995', outcome: 'insufficient_funds' },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', outcome: 'authentication_required' },
};

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** Parses `a[b][0]=x&c=y` into nested objects and arrays, as Stripe does. */
export function parseForm(body: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((part) => part !== '');
    let node: Record<string, unknown> = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  return root;
}

export async function startStripeStandIn(t: Test): Promise<StripeStandIn> {
  const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(12).toString('hex')}`;
  const requests: RecordedRequest[] = [];
  const customers = new Map<string, StandInObject>();
  const subscriptions = new Map<string, StandInObject>();
  const setupIntents = new Map<string, StandInObject>();
  const paymentMethods = new Map<string, StandInObject>();
  const idempotent = new Map<string, { hash: string; status: number; body: unknown }>();
  const faults: { method: string; path: RegExp; kind: FaultKind; times: number }[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const error = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => ({ status, body: { error: { type, message, ...extra } } });
  const missing = (id: string) => error(404, 'invalid_request_error', `No such object: '${id}'`, { code: 'resource_missing', param: 'id' });

  function paymentMethod(id: string): StandInObject | undefined {
    const known = paymentMethods.get(id);
    if (known) return known;
    const card = TEST_CARDS[id];
    if (!card) return undefined;
    return { id, object: 'payment_method', type: 'card', customer: null, card: { brand: card.brand, last4: card.last4, exp_month: 12, exp_year: new Date().getFullYear() + 3 }, created: now() };
  }

  function outcomeOf(pm: StandInObject): string {
    return String((pm.metadata as Record<string, string> | undefined)?.test_outcome ?? TEST_CARDS[pm.id]?.outcome ?? 'ok');
  }

  function expandIntent(intent: StandInObject, params: Record<string, unknown>): StandInObject {
    const expand = Object.values((params.expand ?? {}) as Record<string, string>);
    if (!expand.includes('payment_method') || typeof intent.payment_method !== 'string') return intent;
    return { ...intent, payment_method: paymentMethods.get(intent.payment_method) ?? intent.payment_method };
  }

  /** The API's behaviour, without transport concerns. */
  function handle(method: string, path: string, params: Record<string, unknown>): { status: number; body: unknown } {
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/customers') {
      const customer = { id: newId('cus'), object: 'customer', email: params.email ?? null, name: params.name ?? null, metadata: params.metadata ?? {}, invoice_settings: { default_payment_method: null }, created: now() };
      customers.set(customer.id, customer);
      return { status: 200, body: customer };
    }
    if (method === 'GET' && path === '/v1/customers') {
      const data = [...customers.values()].filter((c) => !c.deleted && (params.email === undefined || c.email === params.email));
      return { status: 200, body: { object: 'list', data, has_more: false, url: '/v1/customers' } };
    }
    if ((match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const customer = customers.get(match[1]!);
      if (!customer) return missing(match[1]!);
      if (method === 'GET') return { status: 200, body: customer.deleted ? { id: customer.id, object: 'customer', deleted: true } : customer };
      if (customer.deleted) return missing(customer.id);
      if (method === 'DELETE') {
        customer.deleted = true;
        for (const sub of subscriptions.values()) if (sub.customer === customer.id) Object.assign(sub, { status: 'canceled', canceled_at: now() });
        for (const pm of paymentMethods.values()) if (pm.customer === customer.id) pm.customer = null;
        return { status: 200, body: { id: customer.id, object: 'customer', deleted: true } };
      }
      if (method === 'POST') {
        const settings = params.invoice_settings as { default_payment_method?: string } | undefined;
        if (settings?.default_payment_method) {
          const pm = paymentMethods.get(settings.default_payment_method);
          if (!pm || pm.customer !== customer.id) return error(400, 'invalid_request_error', 'The payment method is not attached to this customer.', { code: 'resource_missing' });
          customer.invoice_settings = { default_payment_method: pm.id };
        }
        if (params.metadata) customer.metadata = { ...(customer.metadata as object), ...(params.metadata as object) };
        return { status: 200, body: customer };
      }
    }
    if ((match = /^\/v1\/payment_methods\/([^/]+)(\/attach|\/detach)?$/.exec(path))) {
      const pm = paymentMethod(match[1]!);
      if (!pm) return missing(match[1]!);
      if (method === 'GET' && !match[2]) return { status: 200, body: pm };
      if (method === 'POST' && match[2] === '/detach') {
        if (!pm.customer) return error(400, 'invalid_request_error', 'The payment method is not attached to a customer.', { code: 'payment_method_unexpected_state' });
        pm.customer = null;
        return { status: 200, body: pm };
      }
      if (method === 'POST' && match[2] === '/attach') {
        const clone = { ...pm, id: newId('pm'), customer: params.customer, metadata: { test_outcome: outcomeOf(pm) } };
        paymentMethods.set(clone.id, clone);
        return { status: 200, body: clone };
      }
    }
    if (method === 'POST' && path === '/v1/setup_intents') {
      const customer = customers.get(String(params.customer));
      if (!customer || customer.deleted) return missing(String(params.customer));
      const template = paymentMethod(String(params.payment_method));
      if (!template) return error(400, 'invalid_request_error', `No such PaymentMethod: '${String(params.payment_method)}'`, { code: 'resource_missing', param: 'payment_method' });
      const intent: StandInObject = { id: newId('seti'), object: 'setup_intent', customer: customer.id, metadata: params.metadata ?? {}, usage: params.usage ?? 'off_session', created: now(), last_setup_error: null };
      intent.client_secret = `${intent.id}_secret_${randomBytes(8).toString('hex')}`;
      const outcome = outcomeOf(template);
      if (outcome === 'declined' || outcome === 'insufficient_funds') {
        const decline = outcome === 'declined' ? 'generic_decline' : 'insufficient_funds';
        const message = outcome === 'declined' ? 'Your card was declined.' : 'Your card has insufficient funds.';
        Object.assign(intent, { status: 'requires_payment_method', payment_method: null, last_setup_error: { code: 'card_declined', decline_code: decline, message } });
        setupIntents.set(intent.id, intent);
        return error(402, 'card_error', message, { code: 'card_declined', decline_code: decline, setup_intent: intent });
      }
      const clone: StandInObject = { ...template, id: newId('pm'), customer: customer.id, metadata: { test_outcome: outcome } };
      paymentMethods.set(clone.id, clone);
      Object.assign(intent, { payment_method: clone.id, status: outcome === 'authentication_required' ? 'requires_action' : 'succeeded' });
      // A card that needs 3-D Secure is attached only once the challenge succeeds.
      if (outcome === 'authentication_required') clone.customer = null;
      setupIntents.set(intent.id, intent);
      return { status: 200, body: expandIntent(intent, params) };
    }
    if ((match = /^\/v1\/setup_intents\/([^/]+)(\/cancel)?$/.exec(path))) {
      const intent = setupIntents.get(match[1]!);
      if (!intent) return missing(match[1]!);
      if (method === 'GET') return { status: 200, body: expandIntent(intent, params) };
      if (method === 'POST' && match[2]) {
        if (intent.status === 'succeeded' || intent.status === 'canceled') {
          return error(400, 'invalid_request_error', `You cannot cancel this SetupIntent because it has a status of ${String(intent.status)}.`, { code: 'setup_intent_unexpected_state' });
        }
        intent.status = 'canceled';
        return { status: 200, body: intent };
      }
    }
    if (method === 'POST' && path === '/v1/subscriptions') {
      const customer = customers.get(String(params.customer));
      if (!customer || customer.deleted) return missing(String(params.customer));
      const price = ((params.items as Record<string, { price?: string }> | undefined)?.['0']?.price) ?? null;
      const trialEnd = params.trial_end ? Number(params.trial_end) : null;
      const periodEnd = trialEnd ?? now() + 30 * 86_400;
      const sub: StandInObject = {
        id: newId('sub'),
        object: 'subscription',
        customer: customer.id,
        status: trialEnd ? 'trialing' : 'active',
        trial_end: trialEnd,
        cancel_at_period_end: false,
        canceled_at: null,
        default_payment_method: params.default_payment_method ?? null,
        metadata: params.metadata ?? {},
        items: { object: 'list', data: [{ id: newId('si'), price: { id: price }, current_period_end: periodEnd }] },
        created: now(),
      };
      subscriptions.set(sub.id, sub);
      return { status: 200, body: sub };
    }
    if ((match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const sub = subscriptions.get(match[1]!);
      if (!sub) return missing(match[1]!);
      if (method === 'GET') return { status: 200, body: sub };
      if (sub.status === 'canceled') return error(400, 'invalid_request_error', 'A canceled subscription can only update its cancellation_details and metadata.', { code: 'resource_missing' });
      if (method === 'DELETE') {
        Object.assign(sub, { status: 'canceled', canceled_at: now() });
        return { status: 200, body: sub };
      }
      if (method === 'POST') {
        if (params.cancel_at_period_end !== undefined) sub.cancel_at_period_end = params.cancel_at_period_end === 'true';
        if (params.default_payment_method) sub.default_payment_method = params.default_payment_method;
        return { status: 200, body: sub };
      }
    }
    return error(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const method = req.method ?? 'GET';
      const path = url.pathname;
      const key = req.headers['idempotency-key'] as string | undefined;
      const record: RecordedRequest = { method, path, idempotencyKey: key, replayed: false, fault: undefined, status: 0 };
      requests.push(record);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${secretKey}`) return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
      const fault = faults.find((f) => f.times > 0 && f.method === method && f.path.test(path));
      if (fault) {
        fault.times--;
        record.fault = fault.kind;
        if (fault.kind === '500') return send(500, { error: { type: 'api_error', message: 'An unknown error occurred.' } });
        if (fault.kind === '429') return send(429, { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' } });
        if (fault.kind === 'timeout') return; // never answers: the client's timeout fires
      }
      const params = method === 'GET' ? Object.fromEntries(url.searchParams) : parseForm(raw);
      if (method === 'GET' && url.search) Object.assign(params, parseForm(url.search.slice(1)));
      const hash = createHash('sha256').update(`${method} ${path} ${raw}`).digest('hex');
      if (key && method !== 'GET') {
        const stored = idempotent.get(key);
        if (stored && stored.hash !== hash) {
          return send(400, {
            error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` },
          });
        }
        if (stored) {
          record.replayed = true;
          return send(stored.status, stored.body, { 'idempotent-replayed': 'true' });
        }
      }
      const result = handle(method, path, params);
      if (key && method !== 'GET') idempotent.set(key, { hash, ...result });
      if (fault?.kind === 'drop_after_create') {
        record.status = result.status;
        req.socket.destroy();
        return;
      }
      send(result.status, result.body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const signer = new Stripe(secretKey);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    webhookSecret,
    requests,
    customers,
    subscriptions,
    setupIntents,
    paymentMethods,
    fail(method, path, kind, times = 1) {
      faults.push({ method, path, kind, times });
    },
    finishChallenge(setupIntentId, succeeded) {
      const intent = setupIntents.get(setupIntentId);
      if (!intent) throw new Error(`No SetupIntent ${setupIntentId}.`);
      if (succeeded) {
        const pm = paymentMethods.get(String(intent.payment_method));
        if (pm) pm.customer = intent.customer;
        intent.status = 'succeeded';
      } else {
        Object.assign(intent, {
          status: 'requires_payment_method',
          payment_method: null,
          last_setup_error: { code: 'setup_intent_authentication_failure', decline_code: null, message: 'The card could not be authenticated.' },
        });
      }
    },
    webhook(type, object, options = {}) {
      const id = options.id ?? newId('evt');
      const payload = JSON.stringify({ id, object: 'event', type, created: options.created ?? now(), api_version: '2026-10-28.endive', livemode: false, data: { object } });
      return { payload, id, signature: signer.webhooks.generateTestHeaderString({ payload, secret: webhookSecret }) };
    },
    writes: () => requests.filter((r) => r.method !== 'GET' && !r.replayed),
    liveCustomers: () => [...customers.values()].filter((c) => !c.deleted),
  };
}
