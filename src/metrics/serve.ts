import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './server.js';

/**
 * Starts the METRICS_PORT listener when one is configured, and says where metrics are served.
 * `withApi`: whether this process has the API port, where METRICS_TOKEN opens /metrics.
 */
export async function serveMetrics(config: Config, metrics: Metrics, log: FastifyBaseLogger, withApi: boolean): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) {
    if (!withApi) log.info('metrics are not served: set METRICS_PORT to expose this worker\'s GET /metrics');
    else if (config.metricsToken === undefined) log.info('metrics are not served: set METRICS_TOKEN or METRICS_PORT to expose GET /metrics');
    return undefined;
  }
  const server = await startMetricsServer({ metrics, host: config.metricsHost, port: config.metricsPort, token: config.metricsToken });
  log.info({ host: config.metricsHost, port: server.port }, 'metrics served on their own listener');
  return server;
}
