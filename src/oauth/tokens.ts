import type { Core } from '../core.ts';
import { TokenError } from '../errors.ts';
import { blacklistToken, logout } from '../revocation/revoke.ts';
import { validateToken } from '../tokens/claims.ts';
import { findUserForClaim } from '../tokens/issue.ts';

/** RFC 7662 §2.2: `active`, and for an active token what a resource server may want to know. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const OAUTH_TYPE: Record<string, string> = { access: 'access_token', refresh: 'refresh_token', sliding: 'sliding_token' };

/**
 * RFC 7662 introspection: the same predicate as every other check, plus the store for refresh and
 * sliding tokens (rotated or blacklisted ones are inactive) and the user (gone or inactive: inactive).
 * Anything wrong answers `{"active": false}` and nothing else (§2.2).
 */
export async function introspect(core: Core, token: string): Promise<Introspection> {
  const { settings } = core;
  let valid: ReturnType<typeof validateToken>;
  try {
    valid = validateToken(core.backend, settings, token, undefined);
  } catch (error) {
    if (error instanceof TokenError) return { active: false };
    throw error;
  }
  if (core.cache.check(valid) !== undefined) return { active: false };
  if (valid.type === undefined || !(valid.type in OAUTH_TYPE) || valid.userId === undefined) return { active: false };
  if (valid.type !== 'access' && !(await core.store.isTokenLive(valid.jti))) return { active: false };
  const user = await findUserForClaim(core, valid.userId);
  if (!user || (settings.checkUserIsActive && !user.isActive)) return { active: false };
  const { payload } = valid;
  return {
    active: true,
    token_type: OAUTH_TYPE[valid.type],
    username: user.username,
    sub: String(valid.userId),
    [settings.userIdClaim]: valid.userId,
    exp: payload.exp,
    ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}),
    jti: valid.jti,
    ...(valid.sessionId !== undefined ? { sid: valid.sessionId } : {}),
    ...(payload.aud !== undefined ? { aud: payload.aud } : {}),
    ...(payload.iss !== undefined ? { iss: payload.iss } : {}),
  };
}

/**
 * RFC 7009 revocation. A refresh or sliding token is blacklisted with its session, so the access tokens
 * minted from it die too (§2: "SHOULD also invalidate the access token"); an access token ends its
 * session. An invalid, expired, unknown or already revoked token is no error (§2.2). The type hint is
 * not needed: the token's own type claim says which it is, so every type is always found (§2.1), and an
 * unknown hint changes nothing (§2.2).
 */
export async function revokeToken(core: Core, token: string): Promise<void> {
  let valid: ReturnType<typeof validateToken>;
  try {
    valid = validateToken(core.backend, core.settings, token, undefined);
  } catch (error) {
    if (error instanceof TokenError) return;
    throw error;
  }
  if (core.cache.check(valid) !== undefined) return;
  try {
    if (valid.type === 'refresh' || valid.type === 'sliding') await blacklistToken(core, token, valid.type);
    else if (valid.type === 'access') await logout(core, valid.payload);
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
  }
}
