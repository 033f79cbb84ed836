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
