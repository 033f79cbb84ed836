import argon2 from 'argon2';

// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password with argon2id; about 20 ms, so never inside a transaction. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

let decoyHash: Promise<string> | undefined;

/**
 * Verifies a password. With no stored hash (unknown account) it verifies against a decoy, so an
 * unknown email costs the same time as a wrong password.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  decoyHash ??= hashPassword('decoy password that matches no account');
  const hash = storedHash ?? (await decoyHash);
  const ok = await argon2.verify(hash, password).catch(() => false);
  return ok && storedHash !== undefined;
}
