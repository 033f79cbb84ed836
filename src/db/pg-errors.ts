/** PostgreSQL error codes we act on, by name. */
export const PgErrorCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  /** A statement cancelled: it ran past statement_timeout, or was cancelled by hand. */
  queryCanceled: '57014',
} as const;

interface PgError {
  code: string;
  constraint?: string;
}

function isPgError(error: unknown): error is PgError {
  return typeof error === 'object' && error !== null && typeof (error as PgError).code === 'string';
}

/** True when `error` is a unique violation, optionally of the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  return (
    isPgError(error) &&
    error.code === PgErrorCode.uniqueViolation &&
    (constraint === undefined || error.constraint === constraint)
  );
}

/** True when `error` says a statement was cancelled before it finished (statement_timeout). */
export function isQueryCanceled(error: unknown): boolean {
  return isPgError(error) && error.code === PgErrorCode.queryCanceled;
}

/** Node's errors for a peer that cannot be reached or went away. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * True when `error` says the database could not be reached or dropped the connection: a network
 * error, pg's own "connection terminated", or PostgreSQL refusing or ending the session (connection
 * exceptions, shutdown, too many connections).
 */
export function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_ERRORS.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  }
  return typeof message === 'string' && /^Connection terminated|^Client has encountered a connection error|^timeout exceeded when trying to connect/.test(message);
}
