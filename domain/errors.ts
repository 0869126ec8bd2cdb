/** A field-level problem, as listed in a problem's `errors`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * An error the API returns as RFC 9457 problem details: a stable `code`,
 * the HTTP status, and a detail that names the value and the fix.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  get detail(): string {
    return this.message;
  }
}

function define(code: string, status: number, title: string) {
  return (detail: string, errors?: FieldError[]) =>
    new DomainError(code, status, title, detail, errors);
}

export const errors = {
  invalidRequest: define('INVALID_REQUEST', 400, 'Invalid request'),
  invalidOptions: define('INVALID_OPTIONS', 400, 'Invalid tool options'),
  unauthorized: define('UNAUTHORIZED', 401, 'Missing or unknown API key'),
  insufficientCredits: define(
    'INSUFFICIENT_CREDITS',
    402,
    'Not enough credits',
  ),
  forbidden: define('FORBIDDEN', 403, 'Forbidden'),
  jobNotFound: define('JOB_NOT_FOUND', 404, 'Job not found'),
  toolNotFound: define('TOOL_NOT_FOUND', 404, 'Tool not found'),
  routeNotFound: define('ROUTE_NOT_FOUND', 404, 'Route not found'),
  toolUnavailable: define('TOOL_UNAVAILABLE', 503, 'Tool unavailable'),
  jobNotCancelable: define('JOB_NOT_CANCELABLE', 409, 'Job not cancelable'),
  jobNotFinished: define('JOB_NOT_FINISHED', 409, 'Job not finished'),
  jobNotSucceeded: define('JOB_NOT_SUCCEEDED', 409, 'Job not succeeded'),
  jobNotAwaitingUpload: define(
    'JOB_NOT_AWAITING_UPLOAD',
    409,
    'Job is not awaiting an upload',
  ),
  jobStateConflict: define('JOB_STATE_CONFLICT', 409, 'Job state conflict'),
  idempotencyKeyInFlight: define(
    'IDEMPOTENCY_KEY_IN_FLIGHT',
    409,
    'Idempotency key in use',
  ),
  uploadIntentExpired: define(
    'UPLOAD_INTENT_EXPIRED',
    410,
    'Upload intent expired',
  ),
  downloadUrlExpired: define('DOWNLOAD_URL_EXPIRED', 410, 'Download expired'),
  outputExpired: define('OUTPUT_EXPIRED', 410, 'Output expired'),
  inputTooLarge: define('INPUT_TOO_LARGE', 413, 'Input too large'),
  uploadTooShort: define(
    'UPLOAD_SIZE_MISMATCH',
    400,
    'Upload shorter than the declared size',
  ),
  uploadTooLong: define(
    'UPLOAD_SIZE_MISMATCH',
    413,
    'Upload longer than the declared size',
  ),
  uploadContentTypeMismatch: define(
    'UPLOAD_CONTENT_TYPE_MISMATCH',
    415,
    'Upload content type does not match the declared type',
  ),
  unsupportedContentType: define(
    'UNSUPPORTED_CONTENT_TYPE',
    415,
    'Content type not accepted by the tool',
  ),
  uploadContentInvalid: define(
    'UPLOAD_CONTENT_INVALID',
    415,
    'Upload bytes are not of the declared type',
  ),
  idempotencyKeyReused: define(
    'IDEMPOTENCY_KEY_REUSED',
    422,
    'Idempotency key reused with a different request',
  ),
  invalidSignature: define('INVALID_SIGNATURE', 403, 'Invalid signed URL'),
  widgetTokenExpired: define(
    'WIDGET_TOKEN_EXPIRED',
    401,
    'Widget token expired',
  ),
  widgetTokenNotAllowed: define(
    'WIDGET_TOKEN_NOT_ALLOWED',
    403,
    'Operation not allowed for widget tokens',
  ),
  widgetTokenToolNotAllowed: define(
    'WIDGET_TOKEN_TOOL_NOT_ALLOWED',
    403,
    'Tool not allowed by the widget token',
  ),
  widgetTokenJobLimitReached: define(
    'WIDGET_TOKEN_JOB_LIMIT_REACHED',
    403,
    'Widget token job limit reached',
  ),
  originNotAllowed: define('ORIGIN_NOT_ALLOWED', 403, 'Origin not allowed'),
} as const;
