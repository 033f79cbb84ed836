import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Config } from '../config.js';
import type { Services } from '../services/index.js';
import type { Guards, SessionCookies } from './auth.js';

/** Our Fastify instance, typed by the TypeBox schemas of its routes. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What every route module gets. */
export interface RouteDeps {
  config: Config;
  services: Services;
  guards: Guards;
  cookies: SessionCookies;
}
