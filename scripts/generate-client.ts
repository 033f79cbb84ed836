/**
 * `npm run client:generate`: builds the HTTP API in-process (it never connects or listens: only the
 * route schemas are needed), asks it for /openapi.json and writes the client's types.
 */
import { writeFile } from 'node:fs/promises';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createDb, createPool } from '../src/db/database.js';
import { buildServer } from '../src/http/server.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { createServices } from '../src/services/index.js';
import { StatusCache } from '../src/services/status-cache.js';
import { TokenDeriver } from '../src/services/token-deriver.js';
import { GatewayEventRepository } from '../src/repositories/billing/gateway-event-repository.js';
import { LocalGatewayRepository } from '../src/repositories/billing/local-gateway-repository.js';
import { LocalGateway } from '../src/services/billing/adapters/local-gateway.js';
import { CLIENT_TYPES_FILE, clientTypes } from './client-types.js';

const config = loadConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', SMTP_URL: 'smtp://127.0.0.1:1' });
const logger = pino({ level: 'silent' });
const pool = createPool(config.databaseUrl!, 1);
const db = createDb(pool);
const services = createServices({
  db,
  pool,
  config,
  mailer: createSmtpMailer(config.smtpUrl!, config.mailFrom, { log: logger }),
  statusCache: new StatusCache(0),
  tokens: new TokenDeriver(Buffer.from('generate-client-types-only-never-used-to-sign')),
  billing: { gateway: new LocalGateway(db, new LocalGatewayRepository(db), new GatewayEventRepository(db)), sessionPool: pool },
});
const app = await buildServer({ config, services, logger });
const document = (await app.inject({ url: '/openapi.json' })).json() as object;
await writeFile(CLIENT_TYPES_FILE, await clientTypes(document));
await app.close();
await pool.end();
process.stdout.write(`Wrote ${CLIENT_TYPES_FILE}\n`);
