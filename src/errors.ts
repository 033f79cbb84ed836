/** Every domain error code the service can answer with; the HTTP layer maps each to a status in one place. */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'forbidden'
  | 'not_found'
  | 'email_taken'
  | 'idempotency_key_reused'
  | 'invalid_token'
  | 'token_expired'
  | 'already_verified'
  | 'resend_too_soon'
  | 'rate_limited'
  | 'sign_in_locked'
  | 'already_member'
  | 'invitation_pending'
  | 'invitation_not_found'
  | 'invitation_expired'
  | 'invitation_email_mismatch'
  | 'sign_in_required'
  | 'last_owner'
  | 'unknown_step'
  | 'version_conflict'
  | 'steps_incomplete'
  | 'onboarding_completed'
  | 'workspace_closed'
  | 'workspace_not_closed'
  | 'trial_not_started'
  | 'endpoint_disabled'
  | 'endpoint_exists'
  | 'delivery_in_progress'
  | 'invalid_cursor'
  | 'signup_flow_required'
  | 'signup_flow_expired'
  | 'signup_flow_completed'
  | 'signup_incomplete'
  | 'invalid_code'
  | 'code_expired'
  | 'too_many_attempts'
  | 'malformed_request'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'temporarily_unavailable'
  | 'card_data_not_accepted'
  | 'invalid_payment_method'
  | 'invalid_signature'
  | 'card_declined'
  | 'payment_action_required'
  | 'already_subscribed'
  | 'no_subscription'
  | 'payment_unavailable'
  | 'internal_error';

/** A problem with one input field, shown to the user next to that field. */
export interface FieldError {
  field: string;
  message: string;
}

/** A failure the caller can act on; `detail` is a whole sentence, `extra` adds machine-readable context. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly options: { fields?: FieldError[]; extra?: Record<string, unknown>; retryAfterSeconds?: number } = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

/** The detail of a 400 validation_failed: every bad field and what is allowed, in one sentence. */
export function validationDetail(fields: FieldError[]): string {
  return `The request is not valid: ${fields.map((e) => `${e.field} ${e.message}`).join('; ')}.`;
}

/** A 400 validation_failed for fields that break a rule the schema cannot state, worded as the schema's errors are. */
export function invalidFields(fields: FieldError[]): AppError {
  return new AppError('validation_failed', validationDetail(fields), { fields });
}

/** The one "not found" for a workspace and everything under it, so a non-member learns nothing. */
export function workspaceNotFound(): AppError {
  return new AppError('not_found', 'No workspace with this id exists, or you are not a member of it.');
}

/**
 * A job that cannot run yet because what it needs has not happened yet (an expected race): thrown so
 * the job retries, and logged as a warning naming what it waits for, unless it was the last attempt.
 */
export class RetryLater extends Error {}
