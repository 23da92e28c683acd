import type { Core } from '../core.ts';
import { TokenRevokedError } from '../errors.ts';
import type { RevocationEntry } from '../store/records.ts';
import type { UserChange } from '../store/store.ts';
import type { Payload } from '../tokens/backend.ts';
import { validateToken } from '../tokens/claims.ts';

/** Makes committed revocations effective here and tells the listeners about ended sessions. */
function applied(core: Core, entries: RevocationEntry[], reason: string): void {
  core.applyRevocations(entries);
  announceSessions(core, entries, reason);
}

function announceSessions(core: Core, entries: RevocationEntry[], reason: string): void {
  for (const entry of entries) {
    if (entry.kind === 'session') core.events.emit('sessionRevoked', { sessionId: entry.subject, userId: entry.userId, reason });
  }
}

/**
 * Blacklists a refresh (or sliding) token and ends its session, so the access tokens minted from it
 * die too. Simple JWT's `token.blacklist()`.
 */
export async function blacklistToken(core: Core, token: string, type: 'refresh' | 'sliding'): Promise<void> {
  const { settings, clock } = core;
  const valid = validateToken(core.backend, settings, token, type);
  const level = core.cache.check(valid);
  if (level !== undefined) throw new TokenRevokedError(level);
  const nowMs = clock();
  // Refreshing a sliding token keeps its jti: every version minted so far expires within one lifetime.
  const expiresAtMs =
    type === 'sliding' ? Math.max(valid.expiresAtMs, nowMs + settings.slidingTokenLifetime * 1000) : valid.expiresAtMs;
  const entries = await core.store.blacklistToken(
    {
      jti: valid.jti,
      userId: String(valid.userId ?? ''),
      expiresAtMs: expiresAtMs + settings.leeway * 1000,
      ...(valid.sessionId !== undefined ? { sessionId: valid.sessionId } : {}),
    },
    'blacklisted',
    nowMs,
    core.horizonMs,
  );
  core.applyRevocations(entries);
  if (entries.some((entry) => entry.kind === 'token')) {
    core.events.emit('tokenBlacklisted', { jti: valid.jti, userId: valid.userId, sessionId: valid.sessionId });
  }
  announceSessions(core, entries, 'blacklisted');
}

/**
 * Ends the session an access (or sliding) token belongs to. A token with no session to end (minted
 * elsewhere, or whose session is already revoked or flushed) is blacklisted itself, so logout always
 * takes effect.
 */
export async function logout(core: Core, claims: Payload): Promise<void> {
  const { settings, clock } = core;
  const sessionId = claims[settings.sessionIdClaim];
  if (typeof sessionId === 'string' && (await revokeSession(core, sessionId, 'logout'))) return;
  // No session to end (minted elsewhere, or its row already flushed): blacklist the token itself.
  const nowMs = clock();
  // The user id as validateToken reads it: only a string or a number (String() of an object may throw).
  const userId = claims[settings.userIdClaim];
  // Whole milliseconds: a NumericDate may have a fraction, and the stores keep bigint milliseconds.
  const exp = typeof claims.exp === 'number' ? Math.ceil(claims.exp * 1000) : nowMs + core.horizonMs;
  const expiresAtMs =
    claims[settings.tokenTypeClaim] === 'sliding' ? Math.max(exp, nowMs + settings.slidingTokenLifetime * 1000) : exp;
  const entries = await core.store.blacklistToken(
    {
      jti: String(claims[settings.jtiClaim]),
      userId: typeof userId === 'string' || typeof userId === 'number' ? String(userId) : '',
      expiresAtMs: expiresAtMs + settings.leeway * 1000,
    },
    'logout',
    nowMs,
    core.horizonMs,
  );
  applied(core, entries, 'logout');
}

/** Revokes one session and every token in it. False when it was unknown or already revoked. */
export async function revokeSession(core: Core, sessionId: string, reason: string): Promise<boolean> {
  const entry = await core.store.revokeSession(sessionId, reason, core.clock(), core.horizonMs);
  if (!entry) return false;
  applied(core, [entry], reason);
  return true;
}

/** Revokes every session of a user but `keepSessionId` ("log out my other devices"). Returns how many. */
export async function revokeOtherSessions(core: Core, userId: string | number, keepSessionId: string, reason: string): Promise<number> {
  const entries = await core.store.revokeOtherSessions(String(userId), keepSessionId, reason, core.clock(), core.horizonMs);
  applied(core, entries, reason);
  return entries.length;
}

/**
 * Revokes every token of a user, access tokens included: one durable write of the user's generation.
 * The set-based blacklisting of the user's outstanding rows follows in the background.
 */
export async function revokeAllForUser(
  core: Core,
  userId: string | number,
  reason: string,
  alsoChangeUser?: UserChange,
): Promise<{ generation: number }> {
  const entry = await core.store.revokeUser(String(userId), reason, core.clock(), core.horizonMs, alsoChangeUser);
  core.applyRevocations([entry]);
  core.runInBackground(() => markUserTokens(core, entry.subject, entry.generation, reason));
  core.events.emit('userTokensRevoked', { userId, reason, generation: entry.generation });
  return { generation: entry.generation };
}

/** Rows of one user walked per transaction by the bookkeeping after a revoke-all. */
const MARK_BATCH = 2000;

/**
 * The bookkeeping after a revoke-all: blacklists the user's outstanding rows in bounded set-based
 * batches, yielding to the event loop before and between them, so neither the acknowledgement nor other
 * requests wait behind a user with many tokens.
 */
export async function markUserTokens(core: Core, userId: string, generation: number, reason: string): Promise<number> {
  let total = 0;
  let afterJti: string | null = '';
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const step = await core.store.markUserTokensBlacklisted(userId, generation, reason, core.clock(), {
      afterJti,
      limit: MARK_BATCH,
    });
    total += step.marked;
    if (step.done) return total;
    afterJti = step.afterJti;
  }
}
