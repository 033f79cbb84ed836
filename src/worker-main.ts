import pino from 'pino';
import { loggerOptions } from './http/server.js';
import { startWorker } from './jobs/worker.js';
import { configOrExit, onShutdown } from './lifecycle.js';
import { createRuntime } from './runtime.js';
import { serveMetrics } from './metrics/serve.js';

/** Runs only the job worker, for scaling jobs apart from the HTTP API. */
async function worker(): Promise<void> {
  const config = configOrExit();
  if (!config.databaseUrl) {
    process.stderr.write('npm run worker needs DATABASE_URL: a separate worker must share the API\'s database. `npm start` already runs a worker in-process.\n');
    process.exit(1);
  }
  const log = pino(loggerOptions(config.logLevel));
  const runtime = await createRuntime(config, log);
  const worker = await startWorker({ pool: runtime.directPool, services: runtime.services, log, concurrency: config.workerConcurrency, heartbeatSeconds: config.workerHeartbeatSeconds, events: runtime.metrics.jobEvents });
  runtime.mailer.warm(); // open the SMTP connections before the first email
  const metricsServer = await serveMetrics(config, runtime.metrics, log, false);
  log.info({ workerId: worker.workerId }, 'worker started');
  onShutdown(log, async () => {
    await metricsServer?.close();
    await worker.stop();
    await runtime.close();
  });
}

worker().catch((error) => {
  process.stderr.write(`Failed to start the worker: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
