// Turning API failures into something a person can read.
//
//   try { unwrap(await api.GET('/me')) } catch (e) { const err = apiError(e); ... }
//
// `apiError` accepts anything: an `ApiRequestError` thrown by `unwrap`, a raw
// `ErrorBody`, a network `TypeError`, a string. It never throws.
import type { ErrorBody, ErrorCode } from './types';

/** Every `ErrorCode` of the spec. `Record<ErrorCode, …>` makes a new code a type error here. */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  bad_request: 'The request was not accepted.',
  validation_failed: 'Some fields need attention.',
  invalid_json: 'The request could not be read.',
  invalid_parameter: 'A parameter has an invalid value.',
  unauthorized: 'Please sign in to continue.',
  invalid_credentials: 'Wrong email or password.',
  token_expired: 'Your session has expired. Please sign in again.',
  token_invalid: 'Your session is no longer valid. Please sign in again.',
  refresh_invalid: 'Your session is no longer valid. Please sign in again.',
  refresh_expired: 'Your session has expired. Please sign in again.',
  refresh_reused: 'For your security you were signed out. Please sign in again.',
  account_disabled: 'This account has been disabled.',
  csrf_failed: 'The request was blocked for security reasons. Reload the page and try again.',
  service_token_missing: 'A service token is required.',
  service_token_invalid: 'The service token is not valid.',
  service_token_expired: 'The service token has expired.',
  forbidden: 'You do not have permission to do that.',
  ip_not_allowed: 'Access from your network is not allowed.',
  not_found: 'Not found.',
  method_not_allowed: 'That action is not supported.',
  conflict: 'That conflicts with the current state. Reload and try again.',
  email_taken: 'An account with this email already exists.',
  last_owner: 'A workspace needs at least one owner.',
  passkey_unknown: 'This invitation passkey is not valid.',
  passkey_used: 'This invitation passkey has already been used.',
  passkey_expired: 'This invitation passkey has expired.',
  passkey_revoked: 'This invitation passkey has been revoked.',
  passkey_email_mismatch: 'This invitation is for a different e-mail address.',
  payload_too_large: 'That is too large to upload.',
  request_timeout: 'The upload stalled. Check your connection and try again.',
  unsupported_media_type: 'That file type is not supported.',
  rate_limited: 'Too many requests. Please wait a moment and try again.',
  quota_exceeded: 'Your workspace has used up its quota.',
  maintenance: 'AfterResume is down for maintenance. Please try again soon.',
  unavailable: 'The service is temporarily unavailable. Please try again.',
  internal: 'Something went wrong on our side. Please try again.',
};

/** Codes that are not from the server. */
export type ClientErrorCode = 'network' | 'unknown';

export interface ApiError {
  code: ErrorCode | ClientErrorCode;
  /** Human message for the code (what to show). */
  message: string;
  /** The server's own message, if any (more specific, English, for details/logs). */
  detail?: string;
  /** Field name -> first problem with it (validation errors). */
  fieldIssues: Record<string, string>;
  correlationId?: string;
  /** HTTP status, when known. */
  status?: number;
}

/** Thrown by `unwrap` for any non-2xx answer. */
export class ApiRequestError extends Error {
  readonly info: ApiError;
  constructor(info: ApiError) {
    super(info.detail ?? info.message);
    this.name = 'ApiRequestError';
    this.info = info;
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_MESSAGES, code);
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const err = (v as { error: unknown }).error;
  return typeof err === 'object' && err !== null && 'code' in err;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Normalise any failure into `{code, message, fieldIssues, ...}`. */
export function apiError(e: unknown, status?: number): ApiError {
  if (e instanceof ApiRequestError) return e.info;
  if (isErrorBody(e)) {
    const { code, message, correlation_id, details } = e.error;
    const fieldIssues: Record<string, string> = {};
    for (const issue of details ?? []) {
      if (!(issue.field in fieldIssues)) fieldIssues[issue.field] = issue.message;
    }
    return {
      code: isErrorCode(code) ? code : 'unknown',
      message: isErrorCode(code) ? ERROR_MESSAGES[code] : message || 'Something went wrong.',
      detail: message,
      fieldIssues,
      correlationId: correlation_id,
      status,
    };
  }
  if (e instanceof TypeError) {
    // fetch() rejects with TypeError when the network is down or the request was blocked.
    return {
      code: 'network',
      message: 'Cannot reach the server. Check your connection and try again.',
      detail: e.message,
      fieldIssues: {},
      status,
    };
  }
  if (status !== undefined && STATUS_CODES[status]) {
    const code = STATUS_CODES[status];
    return { code, message: ERROR_MESSAGES[code], detail: typeof e === 'string' ? e : undefined, fieldIssues: {}, status };
  }
  if (status !== undefined && status >= 500) {
    return { code: 'internal', message: ERROR_MESSAGES.internal, fieldIssues: {}, status };
  }
  const detail = e instanceof Error ? e.message : typeof e === 'string' ? e : undefined;
  return { code: 'unknown', message: 'Something went wrong. Please try again.', detail, fieldIssues: {}, status };
}

/**
 * Unwraps an openapi-fetch result: returns `data` on success, throws `ApiRequestError`
 * otherwise. `const me = unwrap(await api.GET('/me'))`.
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiRequestError(apiError(result.error, result.response.status));
  }
  return result.data as T;
}
