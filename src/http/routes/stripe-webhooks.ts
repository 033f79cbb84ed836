import { Type } from 'typebox';
import { problems } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';

/** Stripe events can be larger than our API bodies (an invoice with many lines). */
const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Inbound Stripe webhooks. The signature covers the exact bytes Stripe sent, so this scope keeps
 * the raw body instead of parsing JSON (https://docs.stripe.com/webhooks#verify-official-libraries).
 */
export async function stripeWebhookRoutes(app: App, { services }: RouteDeps): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/webhooks/stripe',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['billing'],
        operationId: 'receiveStripeWebhook',
        summary: 'Receive a Stripe event (signed with STRIPE_WEBHOOK_SECRET)',
        description:
          'Checks the Stripe-Signature header, records the event once by its id (a repeated delivery answers 200 with duplicate: true) and applies it in a job: subscription updated and deleted, ' +
          'invoice payment failed and succeeded, SetupIntent succeeded. An event about a subscription not known yet is retried later; older events never move a subscription back.',
        headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String({ maxLength: 2000 })) }),
        response: { 200: Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() }, { examples: [{ received: true, duplicate: false }] }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const recorded = await services.gatewayEvents.receiveStripeWebhook(request.body as Buffer, request.headers['stripe-signature'] ?? '');
      return { received: true, duplicate: !recorded };
    },
  );
}
