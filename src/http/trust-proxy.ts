import type { FastifyServerOptions } from 'fastify';
import type { TrustProxy } from '../config.js';

/**
 * Fastify's `trustProxy` for TRUST_PROXY. A hop count becomes a function: Fastify 5.12 ignores a
 * bare number (it cannot tell the proxy from a client that connected directly), while
 * `(address, i) => i < hops` trusts the socket peer and the entries the proxies in front of it
 * appended, so `request.ip` is the rightmost entry the outermost proxy wrote, never one the client
 * wrote. Addresses and CIDR ranges are handed to Fastify (proxy-addr) as they are.
 */
export function trustProxyOption(trust: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (trust === false) return false;
  if ('hops' in trust) {
    const { hops } = trust;
    return (_address: string, index: number) => index < hops;
  }
  return [...trust.addresses];
}
