/** How long an idempotency key replays its first request's outcome instead of acting again (seconds). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** Thrown inside a transaction when another request already holds the idempotency key. */
export class KeyAlreadyUsed extends Error {}
