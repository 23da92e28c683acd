import {
  AuthenticationFailedError,
  InvalidCredentialsError,
  NotAuthenticatedError,
  RequestError,
  ThrottledError,
  TokenError,
  TokenMessages,
  TokenRevokedError,
} from '../errors.ts';
import type { AuthFailureReason } from '../metrics/metrics.ts';
import { InvalidAccessTokenError } from './authenticate.ts';
import type { HttpReply } from './reply.ts';

/**
 * The `revocable_auth_failures_total` reason of an error a route answers with, or undefined for
 * anything that is not a refusal of credentials (a bad body, a 404, a 503). A failed login is not
 * counted here: the `loginFailed` event counts it, for library callers too.
 */
export function refusalReason(error: unknown): AuthFailureReason | undefined {
  if (error instanceof InvalidCredentialsError) return undefined;
  if (error instanceof ThrottledError) return 'throttled';
  if (error instanceof NotAuthenticatedError) return 'not_authenticated';
  if (error instanceof InvalidAccessTokenError) {
    const messages = error.body.messages as { message: string }[];
    return messages.some((entry) => entry.message === TokenMessages.blacklisted) ? 'token_revoked' : 'token_invalid';
  }
  if (error instanceof TokenRevokedError) return 'token_revoked';
  if (error instanceof TokenError) return error.detail === TokenMessages.blacklisted ? 'token_revoked' : 'token_invalid';
  if (error instanceof AuthenticationFailedError) {
    switch (error.code) {
      case 'bad_authorization_header':
        return 'bad_header';
      case 'user_not_found':
        return 'user_not_found';
      // `no_active_account` on refresh: the token's user is inactive or gone.
      case 'user_inactive':
      case 'no_active_account':
        return 'user_inactive';
      default:
        return 'token_invalid';
    }
  }
  if (error instanceof RequestError && error.status === 401) return 'not_authenticated';
  return undefined;
}

/** The reason of a refusal a route answers without throwing: the OAuth routes' `invalid_client`. */
export function refusedReplyReason(reply: HttpReply): AuthFailureReason | undefined {
  if (reply.status !== 401) return undefined;
  const body = reply.body as { error?: unknown } | undefined;
  return body?.error === 'invalid_client' ? 'client_invalid' : undefined;
}
