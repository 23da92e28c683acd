import type { Core, RequestContext } from '../core.ts';
import { NoActiveAccountForTokenError, TokenError, TokenMessages, TokenRevokedError } from '../errors.ts';
import type { Settings } from '../settings/settings.ts';
import type { TokenType } from '../store/records.ts';
import type { LoginGuard } from '../store/store.ts';
import type { User } from '../users/users.ts';
import type { Payload } from './backend.ts';
import { GENERATION_CLAIM, type ValidToken, integerUserId, validateToken } from './claims.ts';
import { newJti, newSessionId } from './ids.ts';
import { mintToken } from './mint.ts';

/** An access/refresh pair, in the order Simple JWT answers it. */
export interface TokenPair {
  refresh: string;
  access: string;
}

/** What a refresh answers: a new access token, and a new refresh token when rotation is on. */
export interface RefreshResult {
  access: string;
  refresh?: string;
}

/** The user id claim of a user: its id, or its username when `userIdField` says so. */
export function userIdClaimOf(settings: Settings, user: Pick<User, 'id' | 'username'>): string | number {
  return settings.userIdField === 'username' ? user.username : user.id;
}

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

/** Request metadata is recorded up to a length every database stores whole (MySQL columns are bounded). */
export function bounded(value: string | undefined, length: number): string | null {
  return value === undefined ? null : value.slice(0, length);
}

/** Starts a session: records it with its first long-lived token, then mints the tokens. */
async function startSession(
  core: Core,
  user: Pick<User, 'id' | 'username'>,
  type: 'refresh' | 'sliding',
  context: RequestContext,
  loginGuard: LoginGuard | undefined,
) {
  const { settings, clock, store } = core;
  const nowMs = clock();
  const userId = userIdClaimOf(settings, user);
  const sessionId = newSessionId();
  const jti = newJti();
  const sessionEndsAtMs = settings.sessionMaxLifetime === null ? Number.POSITIVE_INFINITY : nowMs + settings.sessionMaxLifetime * 1000;
  // A sliding token's jti lives until its refresh window closes, plus one last token lifetime.
  const lifetime =
    type === 'refresh' ? settings.refreshTokenLifetime : settings.slidingTokenRefreshLifetime + settings.slidingTokenLifetime;
  const expiresAtMs = seconds(Math.min(nowMs + lifetime * 1000, sessionEndsAtMs));
  const sessionExpiresAtMs = Math.max(expiresAtMs, nowMs + (settings.accessTokenLifetime + settings.leeway) * 1000);
  const started = await store.startSession(
    {
      id: sessionId,
      userId: String(userId),
      createdAtMs: nowMs,
      expiresAtMs: sessionExpiresAtMs,
      userAgent: settings.recordUserAgent ? bounded(context.userAgent, 512) : null,
      ip: settings.recordIp ? bounded(context.ip, 64) : null,
    },
    { jti, userId: String(userId), sessionId, tokenType: type, issuedAtMs: nowMs, expiresAtMs },
    loginGuard,
  );
  if (!started) return undefined;
  return { nowMs, userId, sessionId, jti, generation: started.generation, sessionEndsAtMs };
}

/**
 * Simple JWT's `RefreshToken.for_user` plus its access token: a new session. With a login guard,
 * undefined when the user changed (password, activity) since the credentials were checked.
 */
export async function issueTokenPair(
  core: Core,
  user: Pick<User, 'id' | 'username'>,
  context: RequestContext = {},
  loginGuard?: LoginGuard,
): Promise<TokenPair | undefined> {
  const { backend, settings, events } = core;
  const started = await startSession(core, user, 'refresh', context, loginGuard);
  if (!started) return undefined;
  const common = {
    userId: started.userId,
    sessionId: started.sessionId,
    generation: started.generation,
    nowMs: started.nowMs,
    notAfterMs: started.sessionEndsAtMs,
  };
  const refresh = mintToken(backend, settings, { ...common, type: 'refresh', jti: started.jti });
  const access = mintToken(backend, settings, { ...common, type: 'access' });
  events.emit('tokenObtained', { userId: started.userId, sessionId: started.sessionId, tokenType: 'pair', context });
  return { refresh: refresh.token, access: access.token };
}

/** Simple JWT's `SlidingToken.for_user`: one token, refreshable until its `refresh_exp`. */
export async function issueSlidingToken(
  core: Core,
  user: Pick<User, 'id' | 'username'>,
  context: RequestContext = {},
  loginGuard?: LoginGuard,
): Promise<string | undefined> {
  const { backend, settings, events } = core;
  const started = await startSession(core, user, 'sliding', context, loginGuard);
  if (!started) return undefined;
  const refreshExp = Math.floor(Math.min(started.nowMs + settings.slidingTokenRefreshLifetime * 1000, started.sessionEndsAtMs) / 1000);
  const sliding = mintToken(backend, settings, {
    type: 'sliding',
    jti: started.jti,
    userId: started.userId,
    sessionId: started.sessionId,
    generation: started.generation,
    nowMs: started.nowMs,
    notAfterMs: started.sessionEndsAtMs,
    extra: { [settings.slidingTokenRefreshExpClaim]: refreshExp },
  });
  events.emit('tokenObtained', { userId: started.userId, sessionId: started.sessionId, tokenType: 'sliding', context });
  return sliding.token;
}

/** Claims that are recomputed, never copied, when one token is minted from another; built once per settings. */
const recomputedClaims = new WeakMap<Settings, Set<string>>();

function copyableClaims(settings: Settings, payload: Payload): Payload {
  let skip = recomputedClaims.get(settings);
  if (skip === undefined) {
    skip = new Set([
      settings.tokenTypeClaim,
      settings.jtiClaim,
      settings.userIdClaim,
      settings.sessionIdClaim,
      settings.slidingTokenRefreshExpClaim,
      GENERATION_CLAIM,
      'exp',
      'iat',
      'nbf',
      'aud',
      'iss',
    ]);
    recomputedClaims.set(settings, skip);
  }
  const extra: Payload = {};
  for (const [claim, value] of Object.entries(payload)) if (!skip.has(claim)) extra[claim] = value;
  return extra;
}

/** Checks a presented refresh or sliding token: valid, not revoked, and its user still active. */
async function presented(core: Core, token: string, type: 'refresh' | 'sliding') {
  const valid = validateToken(core.backend, core.settings, token, type);
  const level = core.cache.check(valid);
  // A token-level hit may be a rotated token coming back: the store tells reuse from a plain blacklisting.
  if (level !== undefined && level !== 'token') throw new TokenRevokedError(level);
  if (valid.userId === undefined || valid.sessionId === undefined) {
    throw new TokenError('Token contained no recognizable user identification');
  }
  const user = await findUserForClaim(core, valid.userId);
  if (!user || (core.settings.checkUserIsActive && !user.isActive)) throw new NoActiveAccountForTokenError();
  return valid as ValidToken & { userId: string | number; sessionId: string };
}

/** What the store needs to know of a presented token, whatever minting follows (`mintedLifetime` seconds). */
function presentation(core: Core, valid: ValidToken & { userId: string | number; sessionId: string }, nowMs: number, mintedLifetime: number) {
  const { settings } = core;
  return {
    jti: valid.jti,
    userId: String(valid.userId),
    sessionId: valid.sessionId,
    generation: valid.generation,
    issuedAtMs: valid.issuedAtMs,
    expiresAtMs: valid.expiresAtMs,
    nowMs,
    mintsUntilMs: nowMs + (mintedLifetime + settings.leeway) * 1000,
    sessionMaxLifetimeMs: settings.sessionMaxLifetime === null ? null : settings.sessionMaxLifetime * 1000,
  };
}

/** Finds the user a token's user id claim names, in the built-in user table. */
export async function findUserForClaim(core: Core, userId: string | number) {
  if (core.settings.userIdField === 'username') return core.store.findUserByUsername(String(userId));
  const id = integerUserId(userId);
  return id === undefined ? undefined : core.store.findUserById(id);
}

/**
 * Exchanges a refresh token (Simple JWT's `TokenRefreshSerializer`). With rotation the token is
 * consumed atomically; presenting it again is reuse, which revokes its session.
 */
export async function refreshTokens(core: Core, token: string, context: RequestContext = {}): Promise<RefreshResult> {
  const { settings, clock, store, backend, events } = core;
  const valid = await presented(core, token, 'refresh');
  const nowMs = clock();
  const nextJti = newJti();
  const rotate = settings.rotateRefreshTokens
    ? {
        next: {
          jti: nextJti,
          userId: String(valid.userId),
          sessionId: valid.sessionId,
          tokenType: 'refresh' as TokenType,
          issuedAtMs: nowMs,
          expiresAtMs: seconds(nowMs + settings.refreshTokenLifetime * 1000),
        },
        blacklistOld: settings.blacklistAfterRotation,
      }
    : undefined;
  const outcome = await store.useRefreshToken({
    ...presentation(core, valid, nowMs, settings.accessTokenLifetime),
    acceptUntracked: settings.acceptUntrackedRefreshTokens,
    reuse: { graceMs: settings.reuseGraceSeconds * 1000, horizonMs: core.horizonMs },
    ...(rotate ? { rotate } : {}),
  });
  if (outcome.status === 'untracked' || outcome.status === 'expired') throw new TokenError(TokenMessages.invalidOrExpired);
  if (outcome.status === 'revoked') throw new TokenRevokedError('token');
  if (outcome.status === 'reused') {
    core.applyRevocations(outcome.revocations);
    if (outcome.sessionRevoked) {
      events.emit('refreshReuseDetected', { userId: valid.userId, sessionId: outcome.sessionId, jti: valid.jti, context });
      events.emit('sessionRevoked', { sessionId: outcome.sessionId, userId: String(valid.userId), reason: 'refresh_reuse' });
    }
    throw new TokenRevokedError(outcome.sessionRevoked ? 'session' : 'token');
  }
  core.applyRevocations(outcome.revocations);

  const common = {
    userId: valid.userId,
    sessionId: valid.sessionId,
    generation: outcome.generation,
    nowMs,
    notAfterMs: outcome.sessionEndsAtMs ?? Number.POSITIVE_INFINITY,
    extra: copyableClaims(settings, valid.payload),
  };
  const access = mintToken(backend, settings, { ...common, type: 'access' }).token;
  events.emit('tokenRefreshed', { userId: valid.userId, sessionId: valid.sessionId, tokenType: 'refresh', rotated: !!rotate, context });
  if (!rotate) return { access };
  return { access, refresh: mintToken(backend, settings, { ...common, type: 'refresh', jti: nextJti }).token };
}

/**
 * Simple JWT's `TokenRefreshSlidingSerializer`: a sliding token that is still valid, and whose
 * `refresh_exp` has not passed, comes back with a new `exp` and `iat` (same `jti`, same session).
 */
export async function refreshSlidingToken(core: Core, token: string, context: RequestContext = {}): Promise<string> {
  const { settings, clock, store, backend, events } = core;
  const valid = await presented(core, token, 'sliding');
  const refreshExp = valid.payload[settings.slidingTokenRefreshExpClaim];
  if (refreshExp === undefined) throw new TokenError(`Token has no '${settings.slidingTokenRefreshExpClaim}' claim`);
  const nowMs = clock();
  if (typeof refreshExp !== 'number' || nowMs / 1000 >= refreshExp + settings.leeway) {
    throw new TokenError(`Token '${settings.slidingTokenRefreshExpClaim}' claim has expired`);
  }
  const outcome = await store.useRefreshToken({
    ...presentation(core, valid, nowMs, settings.slidingTokenLifetime),
    acceptUntracked: false,
    reuse: { graceMs: 0, horizonMs: core.horizonMs },
  });
  if (outcome.status === 'untracked' || outcome.status === 'expired') throw new TokenError(TokenMessages.invalidOrExpired);
  if (outcome.status !== 'ok') throw new TokenRevokedError('token');
  const sliding = mintToken(backend, settings, {
    type: 'sliding',
    jti: valid.jti,
    userId: valid.userId,
    sessionId: valid.sessionId,
    generation: outcome.generation,
    nowMs,
    notAfterMs: outcome.sessionEndsAtMs ?? Number.POSITIVE_INFINITY,
    extra: { [settings.slidingTokenRefreshExpClaim]: refreshExp, ...copyableClaims(settings, valid.payload) },
  });
  events.emit('tokenRefreshed', { userId: valid.userId, sessionId: valid.sessionId, tokenType: 'sliding', rotated: false, context });
  return sliding.token;
}
