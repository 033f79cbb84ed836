import { createHmac, hash, hkdfSync } from 'node:crypto';

/**
 * Derives the secret of a link or code from a server secret and the id of the row it belongs to,
 * with HMAC-SHA256 (RFC 2104). Only the derived value's SHA-256 is stored; the raw value can be
 * computed again by whoever holds the server secret, so a retried email job sends exactly the same
 * link or code as its first attempt, and nothing secret ever sits in a table, a job payload or a log.
 */
export class TokenDeriver {
  /** @param secret the server secret (TOKEN_SECRET, or the one kept under DATA_DIR), at least 32 bytes. */
  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error('The token secret must be at least 32 bytes long.');
  }

  /**
   * A 256-bit token for `purpose` (e.g. 'email-verification') and `id` (the row's uuid): 43
   * base64url characters, with the SHA-256 that is stored.
   */
  token(purpose: string, id: string): { token: string; hash: Buffer } {
    const token = this.mac(purpose, id).toString('base64url');
    return { token, hash: hashSecret(token) };
  }

  /**
   * A 6-digit code for `purpose` and `id` (e.g. a flow id and its code number), with its stored
   * SHA-256. Six digits are guessable only with attempts, so callers limit attempts (RFC 4226 §7.3).
   */
  code(purpose: string, id: string): { code: string; hash: Buffer } {
    // Dynamic truncation as in HOTP (RFC 4226 §5.3) keeps the code uniform over 000000-999999.
    const mac = this.mac(purpose, id);
    const offset = mac[mac.length - 1]! & 0x0f;
    const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
    const code = value.toString().padStart(6, '0');
    return { code, hash: hashSecret(code) };
  }

  /** A 256-bit key for `purpose` (e.g. 'webhook-secrets' at rest), derived with HKDF-SHA256 (RFC 5869). */
  key(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.secret, Buffer.alloc(0), `key\u0000${purpose}`, 32));
  }

  private mac(purpose: string, id: string): Buffer {
    return createHmac('sha256', this.secret).update(`${purpose}\u0000${id}`).digest();
  }
}

/** SHA-256 of a derived secret: what tables store and lookups compare. */
export function hashSecret(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
