import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A secret for a link or cookie, and the only form of it that is stored. */
export interface MintedToken {
  token: string;
  hash: Buffer;
}

/** 32 random bytes, base64url, with their SHA-256. */
export function mintToken(): MintedToken {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/**
 * SHA-256 of a token; enough for 256-bit random secrets, and lookups stay indexable. One-shot
 * `hash` (no Hash object) because this runs on every authenticated request.
 */
export function hashToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Compares two secrets in time independent of where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
