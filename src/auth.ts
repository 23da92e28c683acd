import { type Clock, systemClock } from './clock.ts';
import type { Core, RequestContext } from './core.ts';
import {
  InvalidCredentialsError,
  StaleRevocationStateError,
  TokenRevokedError,
  UnavailableError,
  UserNotFoundError,
  ValidationError,
} from './errors.ts';
import type { RevocationBus } from './bus/bus.ts';
import { openBus } from './bus/open.ts';
import { type AuthEventListener, type AuthEventName, EventHub, MASKED_PASSWORD } from './events.ts';
import { type Clients, createClients } from './oauth/clients.ts';
import { type Introspection, introspect, revokeToken } from './oauth/tokens.ts';
import { RevocationCache } from './revocation/cache.ts';
import { createRevocationSync } from './revocation/sync.ts';
import { type Metrics, createMetrics } from './metrics/metrics.ts';
import {
  blacklistToken,
  logout,
  markUserTokens,
  revokeAllForUser,
  revokeOtherSessions,
  revokeSession,
} from './revocation/revoke.ts';
import { type SessionInfo, listSessions } from './sessions/sessions.ts';
import { type Settings, type SettingsInput, longestTokenLifetime, resolveSettings } from './settings/settings.ts';
import { DEFAULT_DATABASE_URL, openStore } from './store/open.ts';
import { type FlushCounts, type FlushOptions, type LoginGuard, type Store, UserChangedError } from './store/store.ts';
import { scheduleFlush } from './maintenance/flush-schedule.ts';
import type { AuditRecord, RevocationEntry } from './store/records.ts';
import { type Payload, createTokenBackend } from './tokens/backend.ts';
import { type Keys, createKeyManager } from './keys/manager.ts';
import { type Actor, runAs } from './audit/actor.ts';
import { type AuditTrail, attachAuditTrail } from './audit/audit.ts';
import { validateToken } from './tokens/claims.ts';
import {
  type RefreshResult,
  type TokenPair,
  issueSlidingToken,
  issueTokenPair,
  refreshSlidingToken,
  refreshTokens,
  userIdClaimOf,
} from './tokens/issue.ts';
import { type PasswordHashingOptions, createPasswordHasher } from './users/passwords.ts';
import { type User, type Users, createUsers } from './users/users.ts';
import { type ThrottleStore, createLoginThrottle, openThrottleStore } from './throttle/throttle.ts';

export type { RefreshResult, RequestContext, TokenPair };

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
  /** Receives failures of background bookkeeping and of event listeners. Defaults to `console`. */
  logger?: Pick<Console, 'error' | 'warn'>;
  /** Receives every audit line as it is written (the server logs them as JSON through pino). */
  auditLog?: (record: AuditRecord) => void;
  /** Apply pending migrations on start (default true). */
  migrate?: boolean;
  /**
   * Carries revocations to the other instances within milliseconds: a {@link RevocationBus}, or a URL
   * (`redis://…` for Redis pub/sub, `postgres://…` for PostgreSQL LISTEN/NOTIFY, `memory:<name>` for
   * instances in one process). Without one, the revocation log poll alone carries them.
   */
  bus?: RevocationBus | string;
  /**
   * The bus channel of this deployment (default `revocable`): instances hear only their own, so two
   * deployments sharing a Redis or a PostgreSQL database stay apart.
   */
  busChannel?: string;
  /**
   * Where login throttling counts (settings `loginFailuresPerUsername`, `loginFailuresPerIp`,
   * `loginAttemptsPerIp`): a {@link ThrottleStore}, or a URL (`redis://…` to share the counts between
   * instances, keyed under `busChannel`; `memory`). Default: this process's memory, on `clock`.
   */
  throttle?: ThrottleStore | string;
}

/** Claims of a verified token. */
export type Claims = Payload;

/** The library: one instance per process, sharing one store and one revocation cache. */
export interface Auth {
  readonly settings: Settings;
  readonly store: Store;
  readonly users: Users;
  /** OAuth clients allowed to call introspection and revocation (`revocable clients add`). */
  readonly clients: Clients;
  /** Signing keys: the JWKS and rotation (`revocable keys`). */
  readonly keys: Keys;
  /** This instance's Prometheus metrics, served by `GET /metrics` (docs/api.md#metrics). */
  readonly metrics: Metrics;
  /** Who revoked what and why, and the logins: the audit trail (`revocable audit`). */
  readonly audit: AuditTrail;
  /**
   * Runs `fn` on behalf of `actor` (`staff:alice`, `cli:root`, …): the audit lines its revocations write
   * name that actor and IP. Requests through the HTTP routes name their caller by themselves.
   */
  runAs<T>(actor: Actor, fn: () => T): T;
  /** RFC 7662: what an active token is, or `{active: false}` for anything invalid, expired or revoked. */
  introspect(token: string): Promise<Introspection>;
  /** RFC 7009: revokes a token of any type; invalid or unknown tokens are no error. */
  revokeToken(token: string): Promise<void>;
  /** Listens to an event (docs/events.md); returns the function that stops listening. */
  on<K extends AuthEventName>(name: K, listener: AuthEventListener<K>): () => void;
  /** Mints a new session's refresh and access tokens for a user (Simple JWT's `RefreshToken.for_user`). */
  issueTokens(user: Pick<User, 'id' | 'username'>, context?: RequestContext): Promise<TokenPair>;
  /** Checks credentials and issues tokens; throws `InvalidCredentialsError` whatever was wrong. */
  obtainTokens(username: string, password: string, context?: RequestContext): Promise<TokenPair>;
  /** Checks credentials and issues a sliding token (Simple JWT's `TokenObtainSlidingView`). */
  obtainSlidingToken(username: string, password: string, context?: RequestContext): Promise<string>;
  /** Verifies an access token, revocation included, without I/O. Returns its claims or throws `TokenError`. */
  verifyAccess(token: string): Claims;
  /** Verifies a sliding token, revocation included, without I/O. */
  verifySliding(token: string): Claims;
  /** Verifies a token of any type (the `/api/token/verify/` semantics), revocation included. */
  verifyToken(token: string): Claims;
  /** Exchanges a refresh token for a new access token (and, with rotation, a new refresh token). */
  refresh(refreshToken: string, context?: RequestContext): Promise<RefreshResult>;
  /** Gives a still-valid sliding token a new `exp`, until its `refresh_exp`. */
  refreshSliding(slidingToken: string, context?: RequestContext): Promise<string>;
  /** Blacklists a refresh (or sliding) token and ends its session: the access tokens minted from it die too. */
  blacklist(token: string, type?: 'refresh' | 'sliding'): Promise<void>;
  /** Ends the session an access token belongs to (logout). */
  logout(accessClaims: Claims): Promise<void>;
  /** The user's live sessions, most recently used first. */
  listSessions(userId: number | string): Promise<SessionInfo[]>;
  /** Revokes one session and every token in it. Returns false when it was unknown or already revoked. */
  revokeSession(sessionId: string, options?: { reason?: string }): Promise<boolean>;
  /** Revokes every session of the user except `keepSessionId`; returns how many were revoked. */
  revokeOtherSessions(userId: number | string, keepSessionId: string, options?: { reason?: string }): Promise<number>;
  /**
   * Revokes every token the user holds, access tokens included: one durable write. `userId` is the
   * user id claim's value (the id, or the username under `userIdField: 'username'`, where a numeric id
   * is also accepted and looked up).
   */
  revokeAllForUser(userId: number | string, options?: { reason?: string }): Promise<{ generation: number }>;
  /** Changes the password after checking the old one, and revokes every token of the user, atomically. */
  changePassword(userId: number, oldPassword: string, newPassword: string): Promise<void>;
  /**
   * Deletes expired tokens, blacklist rows, sessions and log entries (Simple JWT's `flushexpiredtokens`),
   * keeping whatever a token still inside `leeway` needs. In batches (`batchSize` rows per statement and
   * transaction, default 5,000) with a turn of the event loop between them; `onProgress` hears of each.
   * Also runs by itself every `flushExpiredInterval` when that setting is on. Stops between two batches
   * when the instance closes, resolving with what it deleted so far.
   */
  flushExpired(options?: Pick<FlushOptions, 'batchSize' | 'onProgress'>): Promise<FlushCounts>;
  /** Reads revocations written by other processes since the last read (runs by itself on a timer). */
  syncRevocations(): Promise<number>;
  /**
   * The revocation feed's source: calls `listener` with the live log entries numbered after `afterSeq`
   * (every live one when undefined), then with every entry this instance applies from any source
   * (its own, the bus, the log poll). Resolves once the backlog is delivered; the function it resolves
   * to stops the listening.
   */
  watchRevocations(afterSeq: number | undefined, listener: (entries: RevocationEntry[]) => void): Promise<() => void>;
  /**
   * True while this instance cannot vouch for its revocation state (see `maxRevocationStaleness`),
   * whether or not `failOpen` lets it accept tokens meanwhile: a resource server reading the feed decides for itself.
   */
  isRevocationStateStale(): boolean;
  /** Resolves when background bookkeeping (the blacklisting after a revoke-all) has finished. */
  settled(): Promise<void>;
  /** Finishes background work, leaves the bus, and closes the store if it opened it (not one passed in). */
  close(): Promise<void>;
}

/** A caller's reason, kept to a length every database stores whole. */
function reasonOf(options: { reason?: string }, fallback: string): string {
  return (typeof options.reason === 'string' && options.reason ? options.reason : fallback).slice(0, 160);
}

/**
 * Validates the settings, opens (and migrates) the store, loads the revocation cache, and returns a
 * ready {@link Auth}.
 */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const settings = resolveSettings(options.settings);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? console;
  const leewayMs = settings.leeway * 1000;
  const horizonMs = (longestTokenLifetime(settings) + settings.leeway) * 1000;
  let keyManager: ReturnType<typeof createKeyManager> | undefined;
  const backend = createTokenBackend(settings, clock, { onUnknownKid: () => keyManager?.unknownKid() });
  const hasher = await createPasswordHasher(options.passwordHashing);
  const ownsStore = typeof options.database !== 'object';
  const store =
    typeof options.database === 'object'
      ? options.database
      : await openStore(options.database ?? DEFAULT_DATABASE_URL, { logger });
  const ownsThrottle = typeof options.throttle !== 'object';
  const throttleStore =
    typeof options.throttle === 'object'
      ? options.throttle
      : await openThrottleStore(options.throttle ?? 'memory', { clock, logger, prefix: options.busChannel ?? 'revocable' }).catch(
          async (error: unknown) => {
            if (ownsStore) await store.close().catch(() => {});
            throw error;
          },
        );

  const background = new Set<Promise<unknown>>();
  const core: Core = {
    settings,
    clock,
    store,
    cache: new RevocationCache(horizonMs),
    backend,
    hasher,
    events: new EventHub(logger),
    logger,
    horizonMs,
    applyRevocations: (entries) => sync.applyLocal(entries),
    runInBackground(task) {
      const running = task()
        .catch((error) => logger.error('revocable: background task failed', error))
        .finally(() => background.delete(running));
      background.add(running);
    },
  };
  const { cache, events } = core;
  const metrics = createMetrics({ events, cache, clock, isStale: () => auth.isRevocationStateStale() });
  let bus: RevocationBus | undefined;
  let revocationSync: ReturnType<typeof createRevocationSync> | undefined;
  try {
    bus =
      typeof options.bus === 'string'
        ? await openBus(options.bus, { logger, ...(options.busChannel ? { channel: options.busChannel } : {}) })
        : options.bus;
    revocationSync = createRevocationSync({
      store,
      cache,
      clock,
      leewayMs,
      horizonMs,
      intervalMs: settings.revocationPollInterval * 1000,
      maxStalenessMs: settings.maxRevocationStaleness * 1000,
      bus,
      logger,
      onRemoteEntries: (entries, source) => metrics.observeRemoteEntries(entries, source),
    });
    if (options.migrate !== false) await store.migrate();
    keyManager = createKeyManager({ store, backend, settings, clock, horizonMs, logger });
    await keyManager.start();
    await revocationSync.sync();
    await revocationSync.listen();
    for (const pending of await store.unmarkedUserRevocations()) {
      core.runInBackground(() => markUserTokens(core, pending.userId, pending.generation, pending.reason));
    }
  } catch (error) {
    await keyManager?.close();
    if (revocationSync) await revocationSync.close().catch(() => {});
    else await bus?.close().catch(() => {});
    if (ownsStore) await store.close().catch(() => {});
    if (ownsThrottle) await throttleStore.close().catch(() => {});
    throw error;
  }
  const sync = revocationSync;

  const users = createUsers({
    store,
    hasher,
    clock,
    revokeAll: (user, reason, change) => revokeAllForUser(core, userIdClaimOf(settings, user), reason, { id: user.id, ...change }),
  });

  /**
   * The value tokens carry for a user. With `userIdField: 'username'`, a numeric id given by the
   * caller is looked up: keying revocations by the id would match none of the user's tokens.
   */
  const userKey = async (userId: number | string): Promise<number | string> => {
    if (settings.userIdField !== 'username' || typeof userId !== 'number') return userId;
    const user = await store.findUserById(userId);
    if (!user) throw new UserNotFoundError();
    return user.username;
  };

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new UnavailableError('This revocable instance is closed.');
  };
  const pruneTimer = setInterval(() => cache.prune(clock() - leewayMs), 60_000);
  pruneTimer.unref();

  /** Flushes in progress (called or scheduled): close() stops them between batches and waits for them. */
  const flushes = new Set<Promise<FlushCounts>>();
  const stopFlushes = new AbortController();
  const flushExpired = (options: Pick<FlushOptions, 'batchSize' | 'onProgress'>) => {
    // Rows stay `leeway` past their expiry: a token is accepted until exp + leeway.
    const nowMs = clock() - leewayMs;
    cache.prune(nowMs);
    const running = store.flushExpired(nowMs, horizonMs, { ...options, signal: stopFlushes.signal });
    flushes.add(running);
    return running.finally(() => flushes.delete(running));
  };
  const flushSchedule =
    settings.flushExpiredInterval > 0
      ? scheduleFlush({ intervalMs: settings.flushExpiredInterval * 1000, run: () => flushExpired({}), logger })
      : undefined;

  const verified = (token: string, type: 'access' | 'sliding' | undefined) => {
    const valid = validateToken(backend, settings, token, type);
    if (!settings.failOpen && sync.isStale()) throw new StaleRevocationStateError();
    const level = cache.check(valid);
    if (level !== undefined) throw new TokenRevokedError(level);
    return valid.payload;
  };

  const loginThrottle = createLoginThrottle(settings, throttleStore, logger);

  /**
   * Login: the throttle first (a throttled attempt costs no hashing), verify, then start the session
   * only if nothing changed the user meanwhile.
   */
  const login = async <T>(
    username: string,
    password: string,
    context: RequestContext,
    issue: (user: User, guard: LoginGuard) => Promise<T | undefined>,
  ): Promise<T> => {
    assertOpen();
    const attempt = await loginThrottle.begin(username, context.ip);
    let record: Awaited<ReturnType<typeof users.verifyCredentials>>;
    let issued: T | undefined;
    try {
      record = await users.verifyCredentials(username, password);
      const guard: LoginGuard | undefined = record && {
        userRowId: record.id,
        passwordHash: record.password,
        ...(record.upgradedHash ? { upgradedHash: record.upgradedHash } : {}),
      };
      issued = record && guard && (await issue(record, guard));
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    if (!record || issued === undefined) {
      events.emit('loginFailed', { credentials: { username, password: MASKED_PASSWORD }, context });
      throw new InvalidCredentialsError();
    }
    await attempt.succeeded();
    if (settings.updateLastLogin) await store.updateUser(record.id, { lastLoginMs: clock() });
    return issued;
  };

  const auth: Auth = {
    settings,
    store,
    users,
    clients: createClients(store, clock),
    keys: (keyManager as NonNullable<typeof keyManager>).keys,
    metrics,
    audit: attachAuditTrail({
      events,
      store,
      clock,
      runInBackground: core.runInBackground,
      log: options.auditLog,
    }),
    runAs,
    async introspect(token) {
      assertOpen();
      if (!settings.failOpen && sync.isStale()) throw new StaleRevocationStateError();
      return introspect(core, token);
    },
    revokeToken(token) {
      assertOpen();
      return revokeToken(core, token);
    },
    on: (name, listener) => events.on(name, listener),

    issueTokens(user, context) {
      assertOpen();
      return issueTokenPair(core, user, context) as Promise<TokenPair>;
    },
    obtainTokens(username, password, context = {}) {
      return login(username, password, context, (user, guard) => issueTokenPair(core, user, context, guard));
    },
    obtainSlidingToken(username, password, context = {}) {
      return login(username, password, context, (user, guard) => issueSlidingToken(core, user, context, guard));
    },
    verifyAccess: (token) => verified(token, 'access'),
    verifySliding: (token) => verified(token, 'sliding'),
    verifyToken: (token) => verified(token, undefined),
    refresh(refreshToken, context) {
      assertOpen();
      return refreshTokens(core, refreshToken, context);
    },
    refreshSliding(slidingToken, context) {
      assertOpen();
      return refreshSlidingToken(core, slidingToken, context);
    },
    blacklist(token, type = 'refresh') {
      assertOpen();
      return blacklistToken(core, token, type);
    },
    logout(accessClaims) {
      assertOpen();
      return logout(core, accessClaims);
    },
    async listSessions(userId) {
      assertOpen();
      return listSessions(core, await userKey(userId));
    },
    revokeSession(sessionId, options = {}) {
      assertOpen();
      return revokeSession(core, sessionId, reasonOf(options, 'revoked'));
    },
    async revokeOtherSessions(userId, keepSessionId, options = {}) {
      assertOpen();
      return revokeOtherSessions(core, await userKey(userId), keepSessionId, reasonOf(options, 'logout_others'));
    },
    async revokeAllForUser(userId, options = {}) {
      assertOpen();
      return revokeAllForUser(core, await userKey(userId), reasonOf(options, 'revoke_all'));
    },
    async changePassword(userId, oldPassword, newPassword) {
      assertOpen();
      const record = await store.findUserById(userId);
      if (!record) throw new UserNotFoundError();
      if (!(await hasher.verify(record.password, oldPassword))) {
        throw new ValidationError({ old_password: ['Wrong password.'] });
      }
      const hash = await hasher.hash(newPassword);
      // Written only if the hash is still the one just checked: a concurrent change from the same old
      // password that committed first makes this one's old password wrong, as if they had run in turn.
      const change = { id: userId, patch: { password: hash }, ifPasswordIs: record.password };
      try {
        await revokeAllForUser(core, userIdClaimOf(settings, record), 'password_changed', change);
      } catch (error) {
        if (error instanceof UserChangedError) throw new ValidationError({ old_password: ['Wrong password.'] });
        throw error;
      }
      events.emit('passwordChanged', { userId });
    },
    async flushExpired(options = {}) {
      assertOpen();
      return flushExpired(options);
    },
    syncRevocations() {
      assertOpen();
      return sync.sync();
    },
    async watchRevocations(afterSeq, listener) {
      assertOpen();
      // Live entries wait until the backlog is out, so a reader's cursor only ever moves forward.
      let waiting: RevocationEntry[] | undefined = [];
      const stop = sync.watch((entries) => (waiting ? waiting.push(...entries) : listener(entries)));
      try {
        const backlog = await store.loadRevocations(clock() - leewayMs, afterSeq ?? 0, horizonMs);
        if (backlog.length) listener(backlog);
        const held = waiting;
        waiting = undefined;
        if (held.length) listener(held);
      } catch (error) {
        stop();
        throw error;
      }
      return stop;
    },
    isRevocationStateStale: () => sync.isStale(),
    async settled() {
      while (background.size) await Promise.allSettled([...background]);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruneTimer);
      stopFlushes.abort();
      await flushSchedule?.stop();
      await Promise.allSettled([...flushes]);
      await auth.settled();
      await keyManager?.close();
      await sync.close();
      // A store handed in by the caller stays the caller's to close.
      if (ownsThrottle) await throttleStore.close();
      if (ownsStore) await store.close();
    },
  };
  return auth;
}
