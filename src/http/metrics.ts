import { AppError } from '../errors.js';
import { bearerMatches } from '../metrics/server.js';
import type { Metrics } from '../metrics/metrics.js';
import { problems } from './schemas/common.js';
import type { App } from './types.js';

/**
 * Measures every answered request (one histogram observation, by route pattern and status, in
 * onResponse) and, when a metrics token is configured, serves `GET /metrics` to a bearer of it.
 * Without a token the route does not exist here (404): metrics are never public by accident.
 */
export async function httpMetrics(app: App, metrics: Metrics, token: string | undefined): Promise<void> {
  // A callback hook: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  if (token === undefined) return;
  app.get(
    '/metrics',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics of this instance',
        description:
          'Prometheus text exposition format: requests, jobs, queue depth, emails, rate-limit rejections, connection pools, event loop and process. Needs METRICS_TOKEN as a Bearer token; absent (404) when METRICS_TOKEN is unset.',
        security: [{ metricsToken: [] }],
        response: {
          200: {
            description: 'The metrics',
            content: { 'text/plain': { schema: { type: 'string', examples: ['# HELP http_requests_total Requests answered.\n# TYPE http_requests_total counter\nhttp_requests_total{method="GET",route="/v1/me",status="200"} 42\n'] } } },
          },
          ...problems(401),
        },
      },
    },
    async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer');
        throw new AppError('unauthenticated', 'Send the metrics token (METRICS_TOKEN) as a Bearer token.');
      }
      const { body, contentType } = await metrics.scrape();
      return reply.type(contentType).send(body);
    },
  );
}
