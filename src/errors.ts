/**
 * Every error revocable throws is a {@link RevocableError}: a stable `code` for programs, an HTTP
 * `status` for the adapters, and a `detail` that is the exact text Simple JWT would answer with.
 * docs/errors.md lists every code.
 */
export class RevocableError extends Error {
  /** Stable machine-readable code; also the `code` key of the JSON error body where Simple JWT has one. */
  readonly code: string;
  /** HTTP status the adapters answer with. */
  readonly status: number;
  /** Human-readable message, the `detail` key of the JSON error body. */
  readonly detail: string;

  constructor(detail: string, code: string, status: number) {
    super(detail);
    this.name = new.target.name;
    this.detail = detail;
    this.code = code;
    this.status = status;
  }
}

/** A setting (or a CLI environment variable) has a value revocable refuses; `setting` names it. */
export class SettingsError extends RevocableError {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`Invalid setting "${setting}": ${problem}`, 'invalid_setting', 500);
    this.setting = setting;
  }
}

/** The messages of Simple JWT's `TokenError`, kept verbatim for wire compatibility. */
export const TokenMessages = {
  invalidOrExpired: 'Token is invalid or expired',
  wrongType: 'Token has wrong type',
  noType: 'Token has no type',
  blacklisted: 'Token is blacklisted',
  noExp: "Token has no 'exp' claim",
  noId: 'Token has no id',
} as const;

/** A token failed validation or has been revoked (Simple JWT's `TokenError` / `InvalidToken`). */
export class TokenError extends RevocableError {
  constructor(detail: string) {
    super(detail, 'token_not_valid', 401);
  }
}

/** A token that decoded fine but has since been revoked (token, session or user level). */
export class TokenRevokedError extends TokenError {
  /** Which revocation level matched. */
  readonly level: 'token' | 'session' | 'user';
  constructor(level: 'token' | 'session' | 'user') {
    super(TokenMessages.blacklisted);
    this.level = level;
  }
}

/** Authentication failed on a protected route or at login (DRF's `AuthenticationFailed`). */
export class AuthenticationFailedError extends RevocableError {
  constructor(detail: string, code: string) {
    super(detail, code, 401);
  }
}

/** Login with bad credentials. Simple JWT answers this one without a `code` key. */
export class InvalidCredentialsError extends AuthenticationFailedError {
  constructor() {
    super('No active account found with the given credentials', 'no_active_account');
  }
}

/** A refresh token whose user was deleted or deactivated. */
export class NoActiveAccountForTokenError extends AuthenticationFailedError {
  constructor() {
    super('No active account found for the given token.', 'no_active_account');
  }
}

/** No credentials at all (DRF's `NotAuthenticated`). */
export class NotAuthenticatedError extends RevocableError {
  constructor() {
    super('Authentication credentials were not provided.', 'not_authenticated', 401);
  }
}

/** A user-level operation named a user that does not exist. */
export class UserNotFoundError extends RevocableError {
  constructor(detail = 'User not found') {
    super(detail, 'user_not_found', 404);
  }
}

/** Creating a user whose username is taken. */
export class UserExistsError extends RevocableError {
  constructor(username: string) {
    super(`A user named "${username}" already exists.`, 'user_exists', 409);
  }
}

/** Request validation failed; `fields` is DRF's per-field error object. */
export class ValidationError extends RevocableError {
  readonly fields: Record<string, string[]>;
  constructor(fields: Record<string, string[]>) {
    super('Invalid input.', 'invalid', 400);
    this.fields = fields;
  }
}

/** A session id that does not exist (or belongs to someone else, which looks the same). */
export class SessionNotFoundError extends RevocableError {
  constructor() {
    super('Not found.', 'not_found', 404);
  }
}

/**
 * Too many login attempts (DRF's `Throttled`, with DRF's own message): from this address, for this
 * username, or failed ones from this address. Answered before the password is looked at.
 */
export class ThrottledError extends RevocableError {
  /** Whole seconds until the attempt may succeed, at least 1: the `Retry-After` header. */
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    const wait = Math.max(1, Math.ceil(retryAfterSeconds));
    super(`Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.`, 'throttled', 429);
    this.retryAfterSeconds = wait;
  }
}

/** The instance is closed, or the store is unusable. */
export class UnavailableError extends RevocableError {
  constructor(detail: string, code = 'unavailable') {
    super(detail, code, 503);
  }
}

/**
 * This instance could not confirm, within `maxRevocationStaleness`, that it knows every revocation:
 * it refuses to accept tokens rather than accept one that may have been revoked (fail closed).
 */
export class StaleRevocationStateError extends UnavailableError {
  constructor() {
    super('Cannot confirm that the token has not been revoked: the revocation state is stale.', 'revocation_state_stale');
  }
}

/** The database did not answer (down, unreachable, or refusing connections). */
export class DatabaseUnavailableError extends UnavailableError {
  constructor() {
    super('The database is unavailable.', 'database_unavailable');
  }
}

/**
 * A request the HTTP layer refuses before any auth logic runs (bad JSON, wrong media type or method,
 * too large, unknown path). `body` is the exact JSON answered: DRF's own refusals carry no `code` key.
 */
export class RequestError extends RevocableError {
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    detail: string,
    options: { withCode?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(detail, code, status);
    this.body = options.withCode ? { detail, code } : { detail };
    this.headers = options.headers ?? {};
  }
}
