import type { FastifyReply, FastifyRequest } from 'fastify';
import { runAs } from '../audit/actor.ts';
import type { Auth, Claims } from '../auth.ts';
import { InvalidCredentialsError, ThrottledError, TokenError } from '../errors.ts';
import type { User } from '../users/users.ts';
import { readCookie, writeCookie } from './cookies.ts';

/**
 * The staff login of the admin pages.
 *
 * The session cookie holds the refresh token of a real revocable session, started by
 * `auth.obtainTokens` (so login throttling and the audit trail apply). Every admin request verifies it
 * again: a valid refresh token, its session not revoked (in memory and in the store), its user still
 * staff and active. So logging out (the token is blacklisted), revoking that session or every token of
 * the user (`revoke-user`, the user's own logout-all, another admin), deactivating the user or taking
 * away staff ends the admin session on its next request. The token is never rendered into a page and
 * the cookie is HttpOnly, SameSite=Strict, Path=/admin, and Secure over HTTPS; the access token of the
 * pair is thrown away. The session lasts as long as the refresh token (`refreshTokenLifetime`).
 */

/** The admin session: the refresh token of a session of a staff user. */
export const SESSION_COOKIE = 'revocable_admin';
/** Before login: a random value the login form's CSRF token is bound to. */
export const LOGIN_COOKIE = 'revocable_admin_login';

/** A signed-in staff member, as every admin page and action sees them. */
export interface StaffSession {
  user: User;
  /** The id of the admin session (the token's `sid`): what the CSRF token is bound to. */
  sessionId: string;
  /** The audit trail's name for them: `staff:<username>`. */
  actor: string;
  /** The cookie's refresh token: handed to `auth.blacklist` at logout, and to nothing else. */
  refreshToken: string;
}

/** The user a token's user id claim names (the id, or the username under `userIdField: 'username'`). */
async function userOfClaim(auth: Auth, claim: unknown): Promise<User | undefined> {
  if (auth.settings.userIdField === 'username') {
    return typeof claim === 'string' ? auth.users.findByUsername(claim) : undefined;
  }
  const id = typeof claim === 'number' ? claim : typeof claim === 'string' && /^\d+$/.test(claim) ? Number(claim) : Number.NaN;
  return Number.isSafeInteger(id) ? auth.users.findById(id) : undefined;
}

/** The claims of a refresh token that is valid and not revoked, or undefined. */
function refreshClaims(auth: Auth, token: string): Claims | undefined {
  try {
    const claims = auth.verifyToken(token);
    return claims[auth.settings.tokenTypeClaim] === 'refresh' ? claims : undefined;
  } catch (error) {
    // A stale revocation state (503) is not "logged out": it propagates and is answered as an outage.
    if (error instanceof TokenError) return undefined;
    throw error;
  }
}

/** The staff session a refresh token stands for, if it still does. */
export async function staffSessionOf(auth: Auth, token: string): Promise<StaffSession | undefined> {
  const claims = refreshClaims(auth, token);
  if (!claims) return undefined;
  const sessionId = claims[auth.settings.sessionIdClaim];
  if (typeof sessionId !== 'string') return undefined;
  // The cache has this instance's revocations at once and the others' within the poll interval; the
  // store has every one that was acknowledged.
  const session = await auth.store.findSession(sessionId);
  const claim = claims[auth.settings.userIdClaim];
  if (!session || session.revokedAtMs !== null || session.userId !== String(claim)) return undefined;
  const user = await userOfClaim(auth, claim);
  if (!user?.isStaff || !user.isActive) return undefined;
  return { user, sessionId, actor: `staff:${user.username}`, refreshToken: token };
}

/** The staff session of the request's cookie, or undefined. */
export function currentStaff(auth: Auth, request: FastifyRequest): Promise<StaffSession | undefined> {
  const token = readCookie(request, SESSION_COOKIE);
  return token ? staffSessionOf(auth, token) : Promise.resolve(undefined);
}

export type LoginOutcome =
  | { ok: true; refreshToken: string }
  /** Wrong credentials, an inactive user, or a user who is not staff: told apart to nobody. */
  | { ok: false; reason: 'refused' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

/**
 * Logs a staff member in through `auth.obtainTokens`: throttled, and audited as a login (or a failed
 * one). A user who is not staff gets the same refusal as a wrong password, and the session their
 * correct password just started is revoked at once (audited as `session_revoked`, reason
 * `admin login refused`).
 */
export async function staffLogin(
  auth: Auth,
  username: string,
  password: string,
  context: { ip: string; userAgent: string | undefined },
): Promise<LoginOutcome> {
  let refresh: string;
  try {
    ({ refresh } = await runAs({ actor: 'anonymous', ip: context.ip }, () => auth.obtainTokens(username, password, context)));
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return { ok: false, reason: 'refused' };
    if (error instanceof ThrottledError) return { ok: false, reason: 'throttled', retryAfterSeconds: error.retryAfterSeconds };
    throw error;
  }
  if (await staffSessionOf(auth, refresh)) return { ok: true, refreshToken: refresh };
  const sessionId = refreshClaims(auth, refresh)?.[auth.settings.sessionIdClaim];
  await runAs({ actor: 'system', ip: context.ip }, () =>
    typeof sessionId === 'string' ? auth.revokeSession(sessionId, { reason: 'admin login refused' }) : auth.blacklist(refresh),
  );
  return { ok: false, reason: 'refused' };
}

/** Ends the admin session for good: the refresh token is blacklisted and its session revoked. */
export async function staffLogout(auth: Auth, staff: StaffSession, ip: string): Promise<void> {
  await runAs({ actor: staff.actor, ip }, () => auth.blacklist(staff.refreshToken));
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, refreshToken: string | undefined): void {
  writeCookie(request, reply, SESSION_COOKIE, refreshToken);
}

