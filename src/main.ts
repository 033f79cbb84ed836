import pino from 'pino';
import { configOrExit, onShutdown } from './lifecycle.js';
import { buildServer, loggerOptions } from './http/server.js';
import { startWorker, type RunningWorker } from './jobs/worker.js';
import { createRuntime } from './runtime.js';
import { serveMetrics } from './metrics/serve.js';

async function main(): Promise<void> {
  const config = configOrExit();
  const log = pino(loggerOptions(config.logLevel));
  const runtime = await createRuntime(config, log);
  const app = await buildServer({ config, services: runtime.services, logger: log, metrics: runtime.metrics });
  let worker: RunningWorker | undefined;
  if (config.runWorker) {
    worker = await startWorker({ pool: runtime.directPool, services: runtime.services, log, concurrency: config.workerConcurrency, heartbeatSeconds: config.workerHeartbeatSeconds, events: runtime.metrics.jobEvents });
    runtime.mailer.warm(); // this process sends mail: open its SMTP connections before the first email
  }
  const metricsServer = await serveMetrics(config, runtime.metrics, log, true);
  onShutdown(log, async () => {
    await app.close(); // stops accepting, waits for every request in flight, even one whose client left
    await metricsServer?.close();
    await worker?.stop(); // waits for running jobs
    await runtime.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
