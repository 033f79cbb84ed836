import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** What one delivery attempt came to: a status code, or an error when no response arrived. */
export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  /** The start of the response body, capped (see EXCERPT_BYTES). */
  excerpt: string | null;
  durationMs: number;
}

/** How much of a response body the delivery log keeps. */
export const EXCERPT_BYTES = 1024;

/** Whether an address is public unicast: not loopback, link-local, private, unique-local, CGNAT, multicast or reserved. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // process() turns an IPv4-mapped IPv6 address (::ffff:10.0.0.1) into the IPv4 address it carries.
  return ipaddr.process(address).range() === 'unicast';
}

/** Raised when an endpoint's host is, or resolves to, an address the service must not call. */
export class RefusedAddress extends Error {
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback or link-local address; webhooks may only call public addresses.`);
    this.name = 'RefusedAddress';
  }
}

/**
 * Why a URL cannot be an endpoint, or undefined when it can: only http(s), no credentials or fragment
 * in the URL, and unless private addresses are allowed, a host that is (or resolves only to) public addresses.
 * Checked at create and update; delivery checks again (see postWebhook), since DNS can change.
 */
export async function refuseUrl(raw: string, allowPrivate: boolean): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not contain a user name or password';
  // A fragment is never sent over HTTP: https://x/h#a would be a second endpoint receiving what https://x/h does.
  if (url.href.includes('#')) return 'must not contain a #fragment (fragments are not sent over HTTP)';
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = net.isIP(host) ? [host] : (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    const refused = addresses.find((address) => !isPublicAddress(address));
    return refused ? `must not point at a private, loopback or link-local address (${host} is ${refused})` : undefined;
  } catch {
    return `has a host name that does not resolve (${host})`;
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A DNS lookup for the connection itself that refuses non-public answers: the address checked is the
 * address connected to, so a name that changes its answer between check and connect (DNS rebinding)
 * cannot reach the internal network.
 */
function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new RefusedAddress(hostname, refused.address), '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/**
 * What a redirect answer means for the admin reading the attempt log: where the receiver points, and
 * that it is not followed (a signed body is not re-sent to an address nobody registered). Null for
 * any other answer.
 */
function redirectNote(statusCode: number | undefined, location: string | undefined): string | null {
  if (statusCode === undefined || statusCode < 300 || statusCode >= 400) return null;
  const target = location ? ` to ${location.slice(0, 500)}` : '';
  return `The endpoint redirected${target}; redirects are not followed: change the endpoint's URL if it moved.`;
}

/**
 * POSTs a signed body once: never follows a redirect, gives up after `timeoutMs` (connection, answer
 * and body together), keeps the first EXCERPT_BYTES of the answer. Never throws: every failure is an
 * outcome to log and retry.
 */
export function postWebhook(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allowPrivate: boolean },
): Promise<AttemptOutcome> {
  const started = performance.now();
  const finish = (outcome: Omit<AttemptOutcome, 'durationMs'>): AttemptOutcome => ({ ...outcome, durationMs: Math.round(performance.now() - started) });
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return resolve(finish({ statusCode: null, error: 'The endpoint URL is not valid.', excerpt: null }));
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup, so it is checked here.
    if (!options.allowPrivate && net.isIP(literal) && !isPublicAddress(literal)) {
      return resolve(finish({ statusCode: null, error: new RefusedAddress(literal, literal).message, excerpt: null }));
    }
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (outcome: Omit<AttemptOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(finish(outcome));
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'onboarding-service-webhooks/1' },
        agent: false,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup as never }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < EXCERPT_BYTES) {
            chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
            kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
          }
          if (kept >= EXCERPT_BYTES) response.destroy();
        });
        const done = () =>
          settle({ statusCode: response.statusCode ?? null, error: redirectNote(response.statusCode, response.headers.location), excerpt: Buffer.concat(chunks).toString('utf8') });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      settle({ statusCode: null, error: `No answer within ${options.timeoutMs} ms.`, excerpt: null });
      request.destroy();
    }, options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error instanceof RefusedAddress ? error.message : error.code ? `${error.code}: ${error.message}` : error.message;
      settle({ statusCode: null, error: reason, excerpt: null });
    });
    request.end(body);
  });
}
