import type { Auth, Claims } from '../auth.ts';
import { AuthenticationFailedError, NotAuthenticatedError, RevocableError, TokenError } from '../errors.ts';
import type { Settings } from '../settings/settings.ts';
import { integerUserId } from '../tokens/claims.ts';
import type { User } from '../users/users.ts';

/** The caller of a protected route. */
export interface Principal {
  user: User;
  claims: Claims;
}

/** One accepted token type's reason for refusing a token, as Simple JWT lists it. */
export interface TokenTypeMessage {
  token_class: string;
  token_type: string;
  message: string;
}

/** The 401 of a token that fails on a protected route: Simple JWT's `InvalidToken` with its `messages`. */
export class InvalidAccessTokenError extends RevocableError {
  readonly body: Record<string, unknown>;
  constructor(messages: TokenTypeMessage[]) {
    super('Given token not valid for any token type', 'token_not_valid', 401);
    this.body = { detail: this.detail, code: this.code, messages };
  }
}

const TOKEN_CLASS = { access: 'AccessToken', sliding: 'SlidingToken' } as const;

/** Python's `bytes.split()` whitespace: ASCII only, unlike JavaScript's `\s`. */
const HEADER_WHITESPACE = /[ \t\n\r\v\f]+/;

/** What header authentication needs: the settings it reads, a verifier, and (database-backed) a user lookup. */
export interface AuthenticationSource<U> {
  settings: Pick<
    Settings,
    'authHeaderName' | 'authHeaderTypes' | 'authTokenTypes' | 'userIdClaim' | 'checkUserIsActive'
  >;
  /** Verifies a token of the type, revocation included; throws {@link TokenError}. */
  verify(token: string, type: 'access' | 'sliding'): Claims | Promise<Claims>;
  /** The user the id claim names, or undefined when there is none. */
  findUser(userId: string | number, claims: Claims): Promise<U | undefined> | U | undefined;
  /** Whether a user may authenticate (`checkUserIsActive`). */
  isActive(user: U): boolean;
}

/**
 * Simple JWT's `JWTAuthentication`: reads the header, verifies the token (revocation included, from
 * memory) and finds the user. Throws the exact error Simple JWT would.
 */
export function createHeaderAuthenticator<U>(source: AuthenticationSource<U>) {
  const { settings } = source;
  const headerName = settings.authHeaderName.toLowerCase();
  const types = new Set(settings.authHeaderTypes);

  /** The raw token of the header, or undefined when the request carries no credentials of ours. */
  function rawToken(header: string | string[] | undefined): string | undefined {
    const value = Array.isArray(header) ? header[0] : header;
    if (value === undefined) return undefined;
    const parts = value.split(HEADER_WHITESPACE).filter((part) => part !== '');
    if (parts.length === 0 || !types.has(parts[0]!)) return undefined;
    if (parts.length !== 2) {
      throw new AuthenticationFailedError(
        'Authorization header must contain two space-delimited values',
        'bad_authorization_header',
      );
    }
    return parts[1];
  }

  return async function authenticate(
    headers: Record<string, string | string[] | undefined>,
  ): Promise<{ user: U; claims: Claims }> {
    const token = rawToken(headers[headerName]);
    if (token === undefined) throw new NotAuthenticatedError();
    // Simple JWT's AUTH_TOKEN_CLASSES: the first type that accepts the token wins.
    let claims: Claims | undefined;
    const messages: TokenTypeMessage[] = [];
    for (const type of settings.authTokenTypes) {
      try {
        claims = await source.verify(token, type);
        break;
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        messages.push({ token_class: TOKEN_CLASS[type], token_type: type, message: error.detail });
      }
    }
    if (claims === undefined) throw new InvalidAccessTokenError(messages);
    const userId = claims[settings.userIdClaim];
    if (typeof userId !== 'number' && typeof userId !== 'string') {
      throw new AuthenticationFailedError('Token contained no recognizable user identification', 'token_not_valid');
    }
    const user = await source.findUser(userId, claims);
    if (user === undefined) throw new AuthenticationFailedError('User not found', 'user_not_found');
    if (settings.checkUserIsActive && !source.isActive(user)) {
      throw new AuthenticationFailedError('User is inactive', 'user_inactive');
    }
    return { user, claims };
  };
}

/** The standalone server's authentication: users from its own store. */
export function createAuthenticator(auth: Auth): (headers: Record<string, string | string[] | undefined>) => Promise<Principal> {
  const { settings } = auth;
  return createHeaderAuthenticator<User>({
    settings,
    verify: (token, type) => (type === 'access' ? auth.verifyAccess(token) : auth.verifySliding(token)),
    findUser: (userId) => {
      if (settings.userIdField === 'username') return auth.users.findByUsername(String(userId));
      // One spelling per user (see integerUserId): "01" or 1.5 is no user, and never reaches the database.
      const id = integerUserId(userId);
      return id === undefined ? undefined : auth.users.findById(id);
    },
    isActive: (user) => user.isActive,
  });
}
