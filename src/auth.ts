import { type Clock, systemClock } from './clock.ts';
import {
  AuthenticationFailedError,
  InvalidCredentialsError,
  NoActiveAccountForTokenError,
  TokenError,
  TokenMessages,
  TokenRevokedError,
  UnavailableError,
  UserNotFoundError,
  ValidationError,
} from './errors.ts';
import { RevocationCache } from './revocation/cache.ts';
import { type Settings, type SettingsInput, longestTokenLifetime, resolveSettings } from './settings/settings.ts';
import { DEFAULT_DATABASE_URL, openStore } from './store/open.ts';
import type { RevocationEntry, TokenType } from './store/records.ts';
import type { FlushCounts, Store } from './store/store.ts';
import { type Payload, createTokenBackend } from './tokens/backend.ts';
import { GENERATION_CLAIM, type ValidToken, validateToken } from './tokens/claims.ts';
import { newJti, newSessionId } from './tokens/ids.ts';
import { mintToken } from './tokens/mint.ts';
import { type PasswordHashingOptions, createPasswordHasher } from './users/passwords.ts';
import { type User, type Users, createUsers } from './users/users.ts';

/** Where a request came from; recorded on the session it starts. */
export interface RequestContext {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

/** What {@link createAuth} takes. Only `settings.signingKey` is required. */
export interface AuthOptions {
  /** Simple JWT's settings, camelCased (docs/settings.md). */
  settings: SettingsInput;
  /** A database URL (default `sqlite:./revocable.db`) or an open {@link Store}. */
  database?: string | Store;
  /** Time source in epoch milliseconds; inject one to test expiry without sleeping. */
  clock?: Clock;
  /** argon2id costs; lower them in tests only. */
  passwordHashing?: PasswordHashingOptions;
  /** Receives failures of background bookkeeping. Defaults to `console`. */
  logger?: Pick<Console, 'error' | 'warn'>;
  /** Apply pending migrations on start (default true). */
  migrate?: boolean;
  /**
   * How often (ms) to read revocations that another process wrote to the same database (the CLI,
   * another server): they take effect here within this interval. Default 250; 0 turns it off.
   */
  revocationPollIntervalMs?: number;
}

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

/** Claims of a verified token. */
export type Claims = Payload;

/** The library: one instance per process, sharing one store and one revocation cache. */
export interface Auth {
  readonly settings: Settings;
  readonly store: Store;
  readonly users: Users;
  /** Mints a new session's refresh and access tokens for a user (Simple JWT's `RefreshToken.for_user`). */
  issueTokens(user: Pick<User, 'id' | 'username'>, context?: RequestContext): Promise<TokenPair>;
  /** Checks credentials and issues tokens; throws `InvalidCredentialsError` whatever was wrong. */
  obtainTokens(username: string, password: string, context?: RequestContext): Promise<TokenPair>;
  /** Verifies an access token, revocation included, without I/O. Returns its claims or throws `TokenError`. */
  verifyAccess(token: string): Claims;
  /** Verifies a token of any type (the `/api/token/verify/` semantics), revocation included. */
  verifyToken(token: string): Claims;
  /** Exchanges a refresh token for a new access token (and, with rotation, a new refresh token). */
  refresh(refreshToken: string, context?: RequestContext): Promise<RefreshResult>;
  /** Blacklists a refresh token and ends its session: the access tokens minted from it die too. */
  blacklist(refreshToken: string): Promise<void>;
  /** Ends the session an access token belongs to (logout). */
  logout(accessClaims: Claims): Promise<void>;
  /** Revokes one session and every token in it. Returns false when it was unknown or already revoked. */
  revokeSession(sessionId: string, options?: { reason?: string }): Promise<boolean>;
  /** Revokes every token the user holds, access tokens included: one durable write. */
  revokeAllForUser(userId: number | string, options?: { reason?: string }): Promise<{ generation: number }>;
  /** Changes the password after checking the old one, and revokes every token of the user. */
  changePassword(userId: number, oldPassword: string, newPassword: string): Promise<void>;
  /** Deletes expired tokens, blacklist rows, sessions and log entries (Simple JWT's `flushexpiredtokens`). */
  flushExpired(): Promise<FlushCounts>;
  /** Reads revocations written by other processes since the last read (runs by itself on a timer). */
  syncRevocations(): Promise<number>;
  /** Resolves when background bookkeeping (the blacklisting after a revoke-all) has finished. */
  settled(): Promise<void>;
  /** Finishes background work and closes the store. */
  close(): Promise<void>;
}

/** Claims that are recomputed, never copied, when one token is minted from another. */
function copyableClaims(settings: Settings, payload: Payload): Payload {
  const skip = new Set([
    settings.tokenTypeClaim,
    settings.jtiClaim,
    settings.userIdClaim,
    settings.sessionIdClaim,
    GENERATION_CLAIM,
    'exp',
    'iat',
    'aud',
    'iss',
  ]);
  const extra: Payload = {};
  for (const [claim, value] of Object.entries(payload)) if (!skip.has(claim)) extra[claim] = value;
  return extra;
}

/**
 * Validates the settings, opens (and migrates) the store, loads the revocation cache, and returns a
 * ready {@link Auth}.
 */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const settings = resolveSettings(options.settings);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? console;
  const backend = createTokenBackend(settings, clock);
  const hasher = await createPasswordHasher(options.passwordHashing);
  const store =
    typeof options.database === 'object' ? options.database : await openStore(options.database ?? DEFAULT_DATABASE_URL);
  if (options.migrate !== false) await store.migrate();
  const users = createUsers(store, hasher, clock);
  const cache = new RevocationCache();
  const horizonMs = (longestTokenLifetime(settings) + settings.leeway) * 1000;
  cache.apply(await store.loadRevocations(clock()));

  const background = new Set<Promise<unknown>>();
  let closed = false;
  const runInBackground = (task: () => Promise<unknown>) => {
    const running = task()
      .catch((error) => logger.error('revocable: background task failed', error))
      .finally(() => background.delete(running));
    background.add(running);
  };
  const markUserTokens = (userId: string, generation: number, reason: string) =>
    runInBackground(() => store.markUserTokensBlacklisted(userId, generation, reason, clock()));
  for (const pending of await store.unmarkedUserRevocations()) {
    markUserTokens(pending.userId, pending.generation, pending.reason);
  }
  const pruneTimer = setInterval(() => cache.prune(clock()), 60_000);
  pruneTimer.unref();
  let syncing: Promise<number> | undefined;
  const syncRevocations = () => {
    // One read at a time: the timer must not pile reads up behind a slow database.
    syncing ??= store
      .loadRevocations(clock(), cache.lastSeq)
      .then((entries) => {
        cache.apply(entries);
        return entries.length;
      })
      .finally(() => {
        syncing = undefined;
      });
    return syncing;
  };
  const pollIntervalMs = options.revocationPollIntervalMs ?? 250;
  const pollTimer =
    pollIntervalMs > 0
      ? setInterval(() => {
          syncRevocations().catch((error) => logger.error('revocable: reading the revocation log failed', error));
        }, pollIntervalMs)
      : undefined;
  pollTimer?.unref();

  const applyRevocations = (entries: RevocationEntry[]) => {
    cache.apply(entries);
  };
  const assertOpen = () => {
    if (closed) throw new UnavailableError('This revocable instance is closed.');
  };
  const assertNotRevoked = (token: ValidToken) => {
    const level = cache.check(token);
    if (level !== undefined) throw new TokenRevokedError(level);
  };
  const findUserForToken = async (userId: string | number) => {
    if (settings.userIdField === 'username') return users.findByUsername(String(userId));
    const id = typeof userId === 'number' ? userId : /^\d+$/.test(userId) ? Number(userId) : Number.NaN;
    return Number.isSafeInteger(id) ? users.findById(id) : undefined;
  };
  const userIdClaimOf = (user: Pick<User, 'id' | 'username'>) =>
    settings.userIdField === 'username' ? user.username : user.id;

  const auth: Auth = {
    settings,
    store,
    users,

    async issueTokens(user, context = {}) {
      assertOpen();
      const nowMs = clock();
      const userId = userIdClaimOf(user);
      const sessionId = newSessionId();
      const refreshJti = newJti();
      const refreshExpiresAtMs = Math.floor(nowMs / 1000 + settings.refreshTokenLifetime) * 1000;
      const { generation } = await store.startSession(
        {
          id: sessionId,
          userId: String(userId),
          createdAtMs: nowMs,
          expiresAtMs: refreshExpiresAtMs,
          userAgent: context.userAgent ?? null,
          ip: context.ip ?? null,
        },
        {
          jti: refreshJti,
          userId: String(userId),
          sessionId,
          tokenType: 'refresh',
          issuedAtMs: nowMs,
          expiresAtMs: refreshExpiresAtMs,
        },
      );
      const common = { userId, sessionId, generation, nowMs };
      const refresh = mintToken(backend, settings, { ...common, type: 'refresh', jti: refreshJti });
      const access = mintToken(backend, settings, { ...common, type: 'access' });
      return { refresh: refresh.token, access: access.token };
    },

    async obtainTokens(username, password, context) {
      assertOpen();
      const user = await users.authenticate(username, password);
      if (!user) throw new InvalidCredentialsError();
      if (settings.updateLastLogin) await store.updateUser(user.id, { lastLoginMs: clock() });
      return auth.issueTokens(user, context);
    },

    verifyAccess(token) {
      const valid = validateToken(backend, settings, token, 'access');
      assertNotRevoked(valid);
      return valid.payload;
    },

    verifyToken(token) {
      const valid = validateToken(backend, settings, token, undefined);
      assertNotRevoked(valid);
      return valid.payload;
    },

    async refresh(refreshToken, _context) {
      assertOpen();
      const valid = validateToken(backend, settings, refreshToken, 'refresh');
      assertNotRevoked(valid);
      if (valid.userId === undefined || valid.sessionId === undefined) {
        throw new TokenError('Token contained no recognizable user identification');
      }
      const user = await findUserForToken(valid.userId);
      if (!user || (settings.checkUserIsActive && !user.isActive)) throw new NoActiveAccountForTokenError();

      const nowMs = clock();
      const extra = copyableClaims(settings, valid.payload);
      const nextJti = newJti();
      const nextExpiresAtMs = Math.floor(nowMs / 1000 + settings.refreshTokenLifetime) * 1000;
      const outcome = await store.useRefreshToken({
        jti: valid.jti,
        userId: String(valid.userId),
        sessionId: valid.sessionId,
        generation: valid.generation,
        issuedAtMs: valid.issuedAtMs,
        expiresAtMs: valid.expiresAtMs,
        nowMs,
        acceptUntracked: settings.acceptUntrackedRefreshTokens,
        ...(settings.rotateRefreshTokens
          ? {
              rotate: {
                next: {
                  jti: nextJti,
                  userId: String(valid.userId),
                  sessionId: valid.sessionId,
                  tokenType: 'refresh' as TokenType,
                  issuedAtMs: nowMs,
                  expiresAtMs: nextExpiresAtMs,
                },
                blacklistOld: settings.blacklistAfterRotation,
              },
            }
          : {}),
      });
      if (outcome.status === 'untracked') throw new TokenError(TokenMessages.invalidOrExpired);
      if (outcome.status === 'revoked' || outcome.status === 'reused') throw new TokenRevokedError('token');
      applyRevocations(outcome.revocations);

      const common = { userId: valid.userId, sessionId: valid.sessionId, generation: outcome.generation, nowMs, extra };
      const access = mintToken(backend, settings, { ...common, type: 'access' }).token;
      if (!settings.rotateRefreshTokens) return { access };
      const refresh = mintToken(backend, settings, { ...common, type: 'refresh', jti: nextJti }).token;
      return { access, refresh };
    },

    async blacklist(refreshToken) {
      assertOpen();
      const valid = validateToken(backend, settings, refreshToken, 'refresh');
      assertNotRevoked(valid);
      const entries = await store.blacklistToken(
        {
          jti: valid.jti,
          userId: String(valid.userId ?? ''),
          expiresAtMs: valid.expiresAtMs,
          ...(valid.sessionId !== undefined ? { sessionId: valid.sessionId } : {}),
        },
        'blacklisted',
        clock(),
        horizonMs,
      );
      applyRevocations(entries);
    },

    async logout(accessClaims) {
      assertOpen();
      const sessionId = accessClaims[settings.sessionIdClaim];
      if (typeof sessionId === 'string') {
        await auth.revokeSession(sessionId, { reason: 'logout' });
        return;
      }
      // A token minted elsewhere has no session: blacklist the access token itself.
      const exp = typeof accessClaims.exp === 'number' ? accessClaims.exp * 1000 : clock() + horizonMs;
      const entries = await store.blacklistToken(
        {
          jti: String(accessClaims[settings.jtiClaim]),
          userId: String(accessClaims[settings.userIdClaim] ?? ''),
          expiresAtMs: exp,
        },
        'logout',
        clock(),
        horizonMs,
      );
      applyRevocations(entries);
    },

    async revokeSession(sessionId, options = {}) {
      assertOpen();
      const entry = await store.revokeSession(sessionId, options.reason ?? 'revoked', clock(), horizonMs);
      if (!entry) return false;
      applyRevocations([entry]);
      return true;
    },

    async revokeAllForUser(userId, options = {}) {
      assertOpen();
      const reason = options.reason ?? 'revoke_all';
      const entry = await store.revokeUser(String(userId), reason, clock(), horizonMs);
      applyRevocations([entry]);
      markUserTokens(entry.subject, entry.generation, reason);
      return { generation: entry.generation };
    },

    async changePassword(userId, oldPassword, newPassword) {
      assertOpen();
      const record = await store.findUserById(userId);
      if (!record) throw new UserNotFoundError();
      if (!(await hasher.verify(record.password, oldPassword))) {
        throw new ValidationError({ old_password: ['Wrong password.'] });
      }
      const hash = await hasher.hash(newPassword);
      // Revoke first: a crash between the two writes leaves the tokens revoked, never the old ones alive.
      await auth.revokeAllForUser(userIdClaimOf(record), { reason: 'password_changed' });
      await store.updateUser(userId, { password: hash });
    },

    async flushExpired() {
      assertOpen();
      const nowMs = clock();
      cache.prune(nowMs);
      return store.flushExpired(nowMs);
    },

    syncRevocations() {
      assertOpen();
      return syncRevocations();
    },

    async settled() {
      while (background.size) await Promise.allSettled([...background]);
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruneTimer);
      clearInterval(pollTimer);
      await syncing?.catch(() => {});
      await auth.settled();
      await store.close();
    },
  };
  return auth;
}

/** For the HTTP layer: turns a user lookup miss into Simple JWT's errors. */
export function userFailure(user: User | undefined, checkActive: boolean): AuthenticationFailedError | undefined {
  if (!user) return new AuthenticationFailedError('User not found', 'user_not_found');
  if (checkActive && !user.isActive) return new AuthenticationFailedError('User is inactive', 'user_inactive');
  return undefined;
}

