import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, validationDetail, type ErrorCode, type FieldError } from '../errors.js';

/** The one map from domain error codes to HTTP statuses. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_request: 400,
  invalid_token: 400,
  invalid_cursor: 400,
  invalid_code: 400,
  signup_flow_required: 401,
  signup_flow_completed: 409,
  signup_flow_expired: 410,
  code_expired: 410,
  signup_incomplete: 422,
  too_many_attempts: 429,
  card_data_not_accepted: 400,
  invalid_payment_method: 400,
  invalid_signature: 400,
  card_declined: 402,
  payment_action_required: 409,
  already_subscribed: 409,
  no_subscription: 409,
  payment_unavailable: 503,
  unauthenticated: 401,
  invalid_credentials: 401,
  sign_in_required: 401,
  forbidden: 403,
  invitation_email_mismatch: 403,
  not_found: 404,
  invitation_not_found: 404,
  unknown_step: 404,
  email_taken: 409,
  already_verified: 409,
  already_member: 409,
  invitation_pending: 409,
  last_owner: 409,
  version_conflict: 409,
  steps_incomplete: 409,
  onboarding_completed: 409,
  workspace_closed: 409,
  workspace_not_closed: 409,
  trial_not_started: 409,
  endpoint_disabled: 409,
  endpoint_exists: 409,
  delivery_in_progress: 409,
  token_expired: 410,
  invitation_expired: 410,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  resend_too_soon: 429,
  rate_limited: 429,
  sign_in_locked: 429,
  internal_error: 500,
  temporarily_unavailable: 503,
};

/** Framework errors (parsing, limits) by status, as domain codes. */
const CODE_BY_FRAMEWORK_STATUS: Record<number, ErrorCode> = {
  404: 'not_found',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** RFC 9457 problem document. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  [extra: string]: unknown;
}

function problem(code: ErrorCode, detail: string, errors?: FieldError[], extra?: Record<string, unknown>): ProblemBody {
  const status = STATUS_BY_CODE[code];
  return { ...extra, type: `urn:problem:${code}`, title: STATUS_CODES[status] ?? 'Error', status, detail, code, ...(errors ? { errors } : {}) };
}

/** Field-level messages from the schema validator. */
function fieldErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((issue) => {
    const { missingProperty: missing, additionalProperty: unknown } = issue.params as { missingProperty?: string; additionalProperty?: string };
    const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const field = [error.validationContext === 'body' ? '' : error.validationContext, path, missing ?? unknown]
      .filter(Boolean)
      .join('.');
    return { field: field || (error.validationContext ?? 'body'), message: missing ? 'is required' : (issue.message ?? 'is invalid') };
  });
}

/** Turns any thrown error into a problem document; a 500 says nothing about its cause. */
export function toProblem(error: FastifyError | AppError, log: FastifyRequest['log']): ProblemBody {
  if (error instanceof AppError) {
    // Ours to know about, though not a bug: the database timed out or was out of reach.
    if (STATUS_BY_CODE[error.code] >= 500) log.warn({ code: error.code }, error.detail);
    return problem(error.code, error.detail, error.options.fields, error.options.extra);
  }
  if (error.validation) {
    const errors = fieldErrors(error);
    return problem('validation_failed', validationDetail(errors), errors);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_FRAMEWORK_STATUS[status] ?? 'malformed_request';
    return problem(code, frameworkDetail(code, error));
  }
  log.error({ err: error }, 'unhandled error');
  return problem('internal_error', 'Something went wrong on our side. Please try again; if it keeps happening, contact support.');
}

function frameworkDetail(code: ErrorCode, error: FastifyError): string {
  switch (code) {
    case 'payload_too_large':
      return 'The request body is too large: at most 64 KiB is accepted.';
    case 'uri_too_long':
      return 'A part of the address is too long.';
    case 'unsupported_media_type':
      return 'Send the request body as application/json.';
    case 'not_found':
      return 'There is nothing at this address.';
    default:
      if (error.code === 'FST_ERR_BAD_URL') return 'The address is not valid: it holds a malformed %-escape.';
      // Fastify's JSON parser (secure-json-parse) gives one error for malformed JSON and for valid JSON
      // with a prototype-poisoning key, without saying which.
      return error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? 'The request says it has a JSON body but the body is empty.'
        : 'The request body is not valid JSON, or holds a "__proto__" or "constructor" key, which is refused.';
  }
}

/** Sends an error as application/problem+json, with Retry-After where the error knows one. */
export function sendProblem(error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = toProblem(error, request.log);
  if (error instanceof AppError && error.options.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(error.options.retryAfterSeconds));
  }
  return reply.code(body.status).type('application/problem+json').send(body);
}
