import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { TokenError, TokenRevokedError, UserExistsError } from '../../src/errors.ts';
import type { OutstandingToken, RefreshOutcome } from '../../src/store/records.ts';
import { SqlStore } from '../../src/store/sql/sql-store.ts';
import type { NewSession, RefreshRequest, Store } from '../../src/store/store.ts';
import { clockAt, decodePayload, testAuth } from '../helpers.ts';
import type { TestDatabase, TestDatabaseKind } from '../support/databases.ts';

/**
 * The behaviour every {@link Store} must have, defined once and run against every database
 * (test/conformance/stores.test.ts loops it). The suite shares one database per store (PGlite takes
 * seconds to start), so every test works on users, sessions and tokens of its own, and times of its own.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
/** The longest token lifetime (plus leeway) the store-level tests pretend to have. */
const HORIZON = DAY;
/** A whole second: store-level tests run at and after it. */
const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

let counter = 0;
/** A name no other test (nor an earlier run on a kept database) uses. */
const unique = (prefix: string) => `${prefix}-${++counter}-${randomBytes(4).toString('hex')}`;

/** A store that an Auth may "close" without closing it: the shared store outlives every Auth. */
function borrowed(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'close') return async () => {};
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface Login {
  userId: string;
  sessionId: string;
  jti: string;
  generation: number;
  expiresAtMs: number;
}

/** Starts a session for `userId` at `atMs`, the way a login does. */
async function login(
  store: Store,
  userId: string,
  atMs: number,
  options: { expiresAtMs?: number; userAgent?: string | null; ip?: string | null } = {},
): Promise<Login> {
  const sessionId = unique('s');
  const jti = unique('j');
  const expiresAtMs = options.expiresAtMs ?? atMs + DAY;
  const session: NewSession = {
    id: sessionId,
    userId,
    createdAtMs: atMs,
    expiresAtMs,
    userAgent: options.userAgent ?? null,
    ip: options.ip ?? null,
  };
  const started = await store.startSession(session, { jti, userId, sessionId, tokenType: 'refresh', issuedAtMs: atMs, expiresAtMs });
  if (!started) throw new Error('startSession refused a login without a guard');
  return { userId, sessionId, jti, generation: started.generation, expiresAtMs };
}

/** The request presenting a token that `login` (or a rotation) handed out. */
function present(
  token: Pick<Login, 'userId' | 'sessionId' | 'jti' | 'generation' | 'expiresAtMs'>,
  nowMs: number,
  overrides: Partial<RefreshRequest> = {},
): RefreshRequest {
  return {
    jti: token.jti,
    userId: token.userId,
    sessionId: token.sessionId,
    generation: token.generation,
    issuedAtMs: nowMs - MINUTE,
    expiresAtMs: token.expiresAtMs,
    nowMs,
    acceptUntracked: false,
    reuse: { graceMs: 0, horizonMs: HORIZON },
    mintsUntilMs: nowMs + 5 * MINUTE,
    sessionMaxLifetimeMs: null,
    ...overrides,
  };
}

/** Presents `token` with rotation on; answers the outcome and the successor token. */
async function rotate(store: Store, token: Login, nowMs: number, overrides: Partial<RefreshRequest> = {}) {
  const next: Login = { ...token, jti: unique('j'), expiresAtMs: nowMs + DAY };
  const outcome = await store.useRefreshToken(
    present(token, nowMs, {
      rotate: {
        next: {
          jti: next.jti,
          userId: token.userId,
          sessionId: token.sessionId,
          tokenType: 'refresh',
          issuedAtMs: nowMs,
          expiresAtMs: next.expiresAtMs,
        },
        blacklistOld: false,
      },
      ...overrides,
    }),
  );
  return { outcome, next };
}

function statuses(outcomes: RefreshOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.status === 'reused' ? `reused/${outcome.sessionRevoked ? 'revoked session' : 'forgiven'}` : outcome.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Log entries about one user (the shared database holds every test's). */
async function logOf(store: Store, userId: string, nowMs: number, afterSeq = 0, horizonMs = HORIZON) {
  return (await store.loadRevocations(nowMs, afterSeq, horizonMs)).filter((entry) => entry.userId === userId);
}

/** Whether an access token passes `auth.verifyAccess` (false for any token error). */
function accepted(auth: Auth, access: string): boolean {
  try {
    auth.verifyAccess(access);
    return true;
  } catch (error) {
    if (error instanceof TokenError) return false;
    throw error;
  }
}

function revokedLevel(auth: Auth, access: string): string | undefined {
  try {
    auth.verifyAccess(access);
    return undefined;
  } catch (error) {
    if (error instanceof TokenRevokedError) return error.level;
    throw error;
  }
}

/**
 * Writes outstanding-token rows in bulk, under the Store interface: thousands of logins one by one would
 * make the suite slow on PGlite. A store that is not a SqlStore needs a bulk path of its own here.
 */
async function seedTokens(store: Store, tokens: OutstandingToken[]): Promise<void> {
  if (!(store instanceof SqlStore)) throw new Error('seedTokens: no bulk insert for this store yet');
  for (let start = 0; start < tokens.length; start += 500) {
    await store.db
      .insertInto('outstanding_tokens')
      .values(
        tokens.slice(start, start + 500).map((token) => ({
          jti: token.jti,
          user_id: token.userId,
          session_id: token.sessionId,
          token_type: token.tokenType,
          generation: token.generation,
          issued_at_ms: token.issuedAtMs,
          expires_at_ms: token.expiresAtMs,
          rotated_at_ms: null,
          replaced_by: null,
        })),
      )
      .execute();
  }
}

/** Runs the bookkeeping after a revoke-all to its end, the way the library does; answers every step. */
async function markAll(store: Store, userId: string, generation: number, nowMs: number, limit: number) {
  const steps: { marked: number; afterJti: string | null; done: boolean }[] = [];
  let afterJti: string | null = '';
  for (let i = 0; i < 50; i++) {
    const step = await store.markUserTokensBlacklisted(userId, generation, 'revoke_all', nowMs, { afterJti, limit });
    steps.push(step);
    if (step.done) return steps;
    afterJti = step.afterJti;
  }
  throw new Error(`markUserTokensBlacklisted did not finish: ${JSON.stringify(steps.slice(-3))}`);
}

/** Defines the conformance tests for one kind of database. `ran` is called once its store is up. */
export function defineStoreConformance(kind: TestDatabaseKind, ran: () => void): void {
  let database: TestDatabase;
  let store: Store;

  describe('the store', () => {
    beforeAll(async () => {
      database = await kind.create();
      store = await database.open();
      await store.migrate();
      ran();
    });
    afterAll(async () => {
      await database?.dispose();
    });

    describe('migrations', () => {
      it('migrating again (twice) is harmless and keeps the data', async () => {
        const username = unique('migrated');
        await store.createUser({ username, password: 'hash', isActive: true, isStaff: false, dateJoinedMs: T0 });
        await store.migrate();
        await store.migrate();
        expect(await store.findUserByUsername(username)).toMatchObject({ username });
      });
    });

    describe('users', () => {
      it('creates, finds, updates and deletes a user', async () => {
        const username = unique('alice');
        const created = await store.createUser({ username, password: 'hash-1', isActive: true, isStaff: false, dateJoinedMs: T0 });
        expect(created).toEqual({
          id: expect.any(Number),
          username,
          password: 'hash-1',
          isActive: true,
          isStaff: false,
          lastLoginMs: null,
          dateJoinedMs: T0,
        });
        expect(Number.isSafeInteger(created.id)).toBe(true);
        expect(await store.findUserById(created.id)).toEqual(created);
        expect(await store.findUserByUsername(username)).toEqual(created);

        expect(await store.updateUser(created.id, { password: 'hash-2', isActive: false, isStaff: true, lastLoginMs: T0 + 5 })).toBe(true);
        expect(await store.findUserById(created.id)).toEqual({
          ...created,
          password: 'hash-2',
          isActive: false,
          isStaff: true,
          lastLoginMs: T0 + 5,
        });
        expect(await store.updateUser(created.id, {})).toBe(true);

        expect(await store.deleteUser(created.id)).toBe(true);
        expect(await store.deleteUser(created.id)).toBe(false);
        expect(await store.findUserById(created.id)).toBeUndefined();
        expect(await store.findUserByUsername(username)).toBeUndefined();
        expect(await store.updateUser(created.id, { isActive: true })).toBe(false);
        expect(await store.updateUser(created.id, {})).toBe(false);
      });

      it('answers undefined for ids and names that match no user', async () => {
        expect(await store.findUserById(2 ** 31 - 7)).toBeUndefined();
        expect(await store.findUserById(Number.NaN)).toBeUndefined();
        expect(await store.findUserById(2 ** 60)).toBeUndefined();
        expect(await store.findUserByUsername(unique('nobody'))).toBeUndefined();
      });

      it('refuses a taken username with UserExistsError, also under 10 concurrent creations', async () => {
        const username = unique('bob');
        const user = { username, password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 };
        await store.createUser(user);
        await expect(store.createUser(user)).rejects.toBeInstanceOf(UserExistsError);

        const raced = unique('carol');
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.createUser({ ...user, username: raced })));
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(UserExistsError);
        }
      });

      it('treats usernames as exact strings, as Django does: "alice" and "Alice" are two users', async () => {
        const lower = unique('dave');
        const upper = lower.toUpperCase();
        const user = { password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 };
        const first = await store.createUser({ ...user, username: lower });
        expect(await store.findUserByUsername(upper)).toBeUndefined();
        expect(await store.findUserByUsername(`${lower} `)).toBeUndefined();
        const second = await store.createUser({ ...user, username: upper });
        expect(second.id).not.toBe(first.id);
      });
    });

    describe('sessions and the login guard', () => {
      it('startSession records the session and its first token at the user generation', async () => {
        const userId = unique('u');
        const started = await login(store, userId, T0, { userAgent: 'agent/1', ip: '192.0.2.1' });
        expect(started.generation).toBe(0);
        expect(await store.userGeneration(userId)).toBe(0);
        expect(await store.findSession(started.sessionId)).toEqual({
          id: started.sessionId,
          userId,
          generation: 0,
          createdAtMs: T0,
          lastUsedAtMs: T0,
          expiresAtMs: T0 + DAY,
          userAgent: 'agent/1',
          ip: '192.0.2.1',
          revokedAtMs: null,
          revokedReason: null,
        });
        expect(await store.findSession(unique('s'))).toBeUndefined();

        await store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
        expect(await store.userGeneration(userId)).toBe(1);
        expect((await login(store, userId, T0 + 20)).generation).toBe(1);
      });

      it('the login guard refuses when the password hash changed, the user is inactive or gone', async () => {
        const user = await store.createUser({ username: unique('erin'), password: 'hash-a', isActive: true, isStaff: false, dateJoinedMs: T0 });
        const userId = String(user.id);
        const attempt = async (guard: Parameters<Store['startSession']>[2]) => {
          const sessionId = unique('s');
          const jti = unique('j');
          const started = await store.startSession(
            { id: sessionId, userId, createdAtMs: T0, expiresAtMs: T0 + DAY, userAgent: null, ip: null },
            { jti, userId, sessionId, tokenType: 'refresh', issuedAtMs: T0, expiresAtMs: T0 + DAY },
            guard,
          );
          return { started, session: await store.findSession(sessionId) };
        };

        const ok = await attempt({ userRowId: user.id, passwordHash: 'hash-a' });
        expect(ok.started).toEqual({ generation: 0 });
        expect(ok.session).toBeDefined();

        const stale = await attempt({ userRowId: user.id, passwordHash: 'hash-old', upgradedHash: 'hash-upgraded' });
        expect(stale.started).toBeUndefined();
        expect(stale.session).toBeUndefined();
        expect((await store.findUserById(user.id))!.password).toBe('hash-a');

        const upgraded = await attempt({ userRowId: user.id, passwordHash: 'hash-a', upgradedHash: 'hash-b' });
        expect(upgraded.started).toEqual({ generation: 0 });
        expect((await store.findUserById(user.id))!.password).toBe('hash-b');

        await store.updateUser(user.id, { isActive: false });
        const inactive = await attempt({ userRowId: user.id, passwordHash: 'hash-b' });
        expect(inactive.started).toBeUndefined();
        expect(inactive.session).toBeUndefined();

        await store.deleteUser(user.id);
        const deleted = await attempt({ userRowId: user.id, passwordHash: 'hash-b' });
        expect(deleted.started).toBeUndefined();
        expect(deleted.session).toBeUndefined();
      });
    });

    describe('useRefreshToken', () => {
      it('ok without rotation: touches the session, keeps it alive as long as what it mints, logs nothing', async () => {
        const token = await login(store, unique('u'), T0);
        const outcome = await store.useRefreshToken(present(token, T0 + 1000, { mintsUntilMs: T0 + 2 * DAY }));
        expect(outcome).toEqual({
          status: 'ok',
          generation: 0,
          session: expect.objectContaining({ id: token.sessionId, lastUsedAtMs: T0 + 1000, expiresAtMs: T0 + 2 * DAY }),
          sessionEndsAtMs: null,
          nextExpiresAtMs: null,
          revocations: [],
        });
        expect(await store.findSession(token.sessionId)).toMatchObject({ lastUsedAtMs: T0 + 1000, expiresAtMs: T0 + 2 * DAY });
        // Without rotation the same token is used again and again.
        expect((await store.useRefreshToken(present(token, T0 + 2000))).status).toBe('ok');
      });

      it('ok with rotation: consumes the token, logs it, records the successor', async () => {
        const token = await login(store, unique('u'), T0);
        const { outcome, next } = await rotate(store, token, T0 + 2000);
        expect(outcome).toMatchObject({ status: 'ok', generation: 0, sessionEndsAtMs: null, nextExpiresAtMs: T0 + 2000 + DAY });
        if (outcome.status !== 'ok') throw new Error('unreachable');
        expect(outcome.revocations).toEqual([
          { seq: expect.any(Number), kind: 'token', subject: token.jti, userId: token.userId, atMs: T0 + 2000, expiresAtMs: token.expiresAtMs },
        ]);
        expect(outcome.session.expiresAtMs).toBe(T0 + 2000 + DAY);
        expect((await rotate(store, next, T0 + 3000)).outcome.status).toBe('ok');
      });

      it('untracked: a token the store never issued (acceptUntracked off), or presented for another user', async () => {
        const userId = unique('u');
        const stranger = { userId, sessionId: unique('s'), jti: unique('j'), generation: undefined as unknown as number, expiresAtMs: T0 + DAY };
        expect(await store.useRefreshToken(present(stranger, T0 + 1000, { generation: undefined }))).toEqual({ status: 'untracked' });
        expect(await store.findSession(stranger.sessionId)).toBeUndefined();

        const token = await login(store, userId, T0);
        expect(await store.useRefreshToken(present({ ...token, userId: unique('u') }, T0 + 1000))).toEqual({ status: 'untracked' });
      });

      it('revoked: after its session was revoked, it was blacklisted, or its user revoked', async () => {
        const userId = unique('u');
        const a = await login(store, userId, T0);
        await store.revokeSession(a.sessionId, 'logout', T0 + 10, HORIZON);
        expect(await store.useRefreshToken(present(a, T0 + 20))).toEqual({ status: 'revoked' });

        const b = await login(store, userId, T0);
        await store.blacklistToken({ jti: b.jti, userId, expiresAtMs: b.expiresAtMs }, 'blacklisted', T0 + 10, HORIZON);
        expect(await store.useRefreshToken(present(b, T0 + 20))).toEqual({ status: 'revoked' });
        expect(await rotate(store, b, T0 + 30)).toMatchObject({ outcome: { status: 'revoked' } });

        const c = await login(store, userId, T0);
        await store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
        expect(await store.useRefreshToken(present(c, T0 + 20))).toEqual({ status: 'revoked' });
        // A token of the new generation is fine.
        const d = await login(store, userId, T0 + 30);
        expect(await store.useRefreshToken(present(d, T0 + 40))).toMatchObject({ status: 'ok', generation: 1 });
      });

      it('expired: past sessionMaxLifetimeMs; before it, the successor is capped at the session end', async () => {
        const token = await login(store, unique('u'), T0);
        const maxMs = 10 * MINUTE;
        const { outcome, next } = await rotate(store, token, T0 + maxMs - 1, { sessionMaxLifetimeMs: maxMs });
        expect(outcome).toMatchObject({ status: 'ok', sessionEndsAtMs: T0 + maxMs, nextExpiresAtMs: T0 + maxMs });
        expect((await rotate(store, { ...next, expiresAtMs: T0 + maxMs }, T0 + maxMs, { sessionMaxLifetimeMs: maxMs })).outcome).toEqual({
          status: 'expired',
        });
        expect(await store.useRefreshToken(present(next, T0 + maxMs + 1, { sessionMaxLifetimeMs: maxMs }))).toEqual({ status: 'expired' });
        // Without the limit the same session goes on.
        expect((await store.useRefreshToken(present(next, T0 + maxMs + 2))).status).toBe('ok');
      });

      it('reused without grace: revokes the session in the same call, and its live successor with it', async () => {
        const token = await login(store, unique('u'), T0);
        const { next } = await rotate(store, token, T0 + 1000);
        const reuse = await rotate(store, token, T0 + 2000);
        expect(reuse.outcome).toEqual({
          status: 'reused',
          sessionId: token.sessionId,
          sessionRevoked: true,
          revocations: [
            {
              seq: expect.any(Number),
              kind: 'session',
              subject: token.sessionId,
              userId: token.userId,
              atMs: T0 + 2000,
              expiresAtMs: T0 + 2000 + HORIZON,
            },
          ],
        });
        expect(await store.findSession(token.sessionId)).toMatchObject({ revokedAtMs: T0 + 2000, revokedReason: 'refresh_reuse' });
        expect((await rotate(store, next, T0 + 3000)).outcome).toEqual({ status: 'revoked' });
        expect((await rotate(store, token, T0 + 4000)).outcome).toEqual({ status: 'revoked' });
      });

      it('reused with grace: forgives only the immediate predecessor of the live token, within the window', async () => {
        const grace = { reuse: { graceMs: 1000, horizonMs: HORIZON } };
        const a = await login(store, unique('u'), T0);
        const { next: b } = await rotate(store, a, T0 + 10_000, grace);
        expect((await rotate(store, a, T0 + 10_500, grace)).outcome).toEqual({
          status: 'reused',
          sessionId: a.sessionId,
          sessionRevoked: false,
          revocations: [],
        });
        expect((await store.findSession(a.sessionId))!.revokedAtMs).toBeNull();
        // The successor still works; once it is rotated, `a` is no longer the immediate predecessor.
        const { outcome, next: c } = await rotate(store, b, T0 + 10_600, grace);
        expect(outcome.status).toBe('ok');
        expect((await rotate(store, a, T0 + 10_700, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: true });
        expect((await rotate(store, c, T0 + 10_800, grace)).outcome).toEqual({ status: 'revoked' });

        // Past the window (graceMs is inclusive), the immediate predecessor revokes the session too.
        const x = await login(store, unique('u'), T0);
        await rotate(store, x, T0 + 20_000, grace);
        expect((await rotate(store, x, T0 + 21_000, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: false });
        expect((await rotate(store, x, T0 + 21_001, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: true });
      });

      it('acceptUntracked adopts a token signed elsewhere: a session of its own, tracked from then on', async () => {
        const userId = unique('u');
        const jti = unique('foreign');
        const foreign = { userId, jti, sessionId: jti, generation: undefined as unknown as number, expiresAtMs: T0 + DAY };
        const first = await store.useRefreshToken(
          present(foreign, T0 + 1000, { generation: undefined, issuedAtMs: T0, acceptUntracked: true }),
        );
        expect(first).toMatchObject({ status: 'ok', generation: 0, revocations: [] });
        expect(await store.findSession(jti)).toMatchObject({ id: jti, userId, generation: 0, createdAtMs: T0, revokedAtMs: null });
        // Tracked now: accepted without acceptUntracked, and single-use under rotation like any other.
        const tracked = { ...foreign, generation: 0 };
        expect((await store.useRefreshToken(present(foreign, T0 + 2000, { generation: undefined, issuedAtMs: T0 }))).status).toBe('ok');
        expect((await rotate(store, tracked, T0 + 3000, { generation: undefined, issuedAtMs: T0 })).outcome.status).toBe('ok');
        expect((await rotate(store, tracked, T0 + 4000, { generation: undefined, issuedAtMs: T0 })).outcome).toMatchObject({
          status: 'reused',
          sessionRevoked: true,
        });

        // Adopted and rotated in one call.
        const other = unique('foreign');
        const adoptedAndRotated = await rotate(
          store,
          { userId, jti: other, sessionId: other, generation: 0, expiresAtMs: T0 + DAY },
          T0 + 5000,
          { generation: undefined, issuedAtMs: T0, acceptUntracked: true },
        );
        expect(adoptedAndRotated.outcome).toMatchObject({ status: 'ok', revocations: [{ kind: 'token', subject: other }] });
      });

      it("refuses to adopt a token issued at or before the user's last revoke-all (whole seconds, fail closed)", async () => {
        const userId = unique('u');
        await store.revokeUser(userId, 'revoke_all', T0 + 5400, HORIZON);
        const adopt = (issuedAtMs: number) => {
          const jti = unique('foreign');
          return store.useRefreshToken(
            present({ userId, jti, sessionId: jti, generation: 0, expiresAtMs: T0 + DAY }, T0 + 7000, {
              generation: undefined,
              issuedAtMs,
              acceptUntracked: true,
            }),
          );
        };
        expect(await adopt(T0 + 2000)).toEqual({ status: 'revoked' });
        expect(await adopt(T0 + 5000)).toEqual({ status: 'revoked' }); // the same second as the revoke-all
        expect(await adopt(T0 + 6000)).toMatchObject({ status: 'ok', generation: 1 });

        // Refused once, refused for good: the row it left behind carries the old generation.
        const jti = unique('foreign');
        const atRevoke = present({ userId, jti, sessionId: jti, generation: 0, expiresAtMs: T0 + DAY }, T0 + 7000, {
          generation: undefined,
          issuedAtMs: T0 + 5000,
          acceptUntracked: true,
        });
        expect(await store.useRefreshToken(atRevoke)).toEqual({ status: 'revoked' });
        expect(await store.useRefreshToken({ ...atRevoke, nowMs: T0 + 8000 })).toEqual({ status: 'revoked' });
      });
    });

    describe('concurrency', () => {
      /** The shared store, plus a second independent connection where the database allows one. */
      async function handles(): Promise<{ stores: Store[]; close(): Promise<void> }> {
        if (!kind.concurrentHandles) return { stores: [store], close: async () => {} };
        const second = await database.open();
        return { stores: [store, second], close: () => second.close() };
      }

      it('rotation is single-use under 50 concurrent calls: exactly one ok, and the session revoked exactly once', async () => {
        const token = await login(store, unique('u'), T0);
        const { stores, close } = await handles();
        try {
          const outcomes = await Promise.all(
            Array.from({ length: 50 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 1000).then((result) => result.outcome)),
          );
          const counts = statuses(outcomes);
          expect(counts.ok, JSON.stringify(counts)).toBe(1);
          expect(counts['reused/revoked session'], JSON.stringify(counts)).toBe(1);
          expect((counts.revoked ?? 0) + 2, JSON.stringify(counts)).toBe(50);
          const log = await logOf(store, token.userId, T0 + 1000);
          expect(log.filter((entry) => entry.kind === 'session' && entry.subject === token.sessionId)).toHaveLength(1);
          expect(log.filter((entry) => entry.kind === 'token' && entry.subject === token.jti)).toHaveLength(1);
        } finally {
          await close();
        }
      });

      it('a rotated token presented 30 times at once revokes its session exactly once (one log entry)', async () => {
        const token = await login(store, unique('u'), T0);
        await rotate(store, token, T0 + 1000);
        const { stores, close } = await handles();
        try {
          const outcomes = await Promise.all(
            Array.from({ length: 30 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 2000).then((result) => result.outcome)),
          );
          expect(statuses(outcomes)).toEqual({ 'reused/revoked session': 1, revoked: 29 });
          const log = await logOf(store, token.userId, T0 + 2000);
          expect(log.filter((entry) => entry.kind === 'session')).toHaveLength(1);
        } finally {
          await close();
        }
      });

      it('honest concurrent retries within the grace window are forgiven: one ok, the session stays', async () => {
        const grace = { reuse: { graceMs: MINUTE, horizonMs: HORIZON } };
        const token = await login(store, unique('u'), T0);
        const { stores, close } = await handles();
        try {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 1000, grace)),
          );
          expect(statuses(results.map((result) => result.outcome))).toEqual({ ok: 1, 'reused/forgiven': 19 });
          expect((await store.findSession(token.sessionId))!.revokedAtMs).toBeNull();
          const winner = results.find((result) => result.outcome.status === 'ok')!;
          expect((await rotate(store, winner.next, T0 + 2000, grace)).outcome.status).toBe('ok');
        } finally {
          await close();
        }
      });

      it('blacklisting one token 20 times at once writes one blacklist entry', async () => {
        const token = await login(store, unique('u'), T0);
        const { stores, close } = await handles();
        try {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              stores[i % stores.length]!.blacklistToken(
                { jti: token.jti, userId: token.userId, expiresAtMs: token.expiresAtMs },
                'blacklisted',
                T0 + 1000,
                HORIZON,
              ),
            ),
          );
          expect(results.flat()).toHaveLength(1);
          expect(await logOf(store, token.userId, T0 + 1000)).toHaveLength(1);
        } finally {
          await close();
        }
      });

      it('revoking one session 20 times at once answers one entry', async () => {
        const token = await login(store, unique('u'), T0);
        const { stores, close } = await handles();
        try {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.revokeSession(token.sessionId, 'revoked', T0 + 1000, HORIZON)),
          );
          expect(results.filter((entry) => entry !== undefined)).toHaveLength(1);
          expect(await logOf(store, token.userId, T0 + 1000)).toHaveLength(1);
        } finally {
          await close();
        }
      });

      it('revokeUser under 20 concurrent calls ends at generation 20 with 20 log entries, generations 1..20', async () => {
        const userId = unique('u');
        const { stores, close } = await handles();
        try {
          const entries = await Promise.all(
            Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.revokeUser(userId, 'revoke_all', T0 + i, HORIZON)),
          );
          expect(entries.map((entry) => entry.generation).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
          expect(await store.userGeneration(userId)).toBe(20);
          const log = await logOf(store, userId, T0 + 100);
          expect(log).toHaveLength(20);
          expect(log.every((entry) => entry.kind === 'user')).toBe(true);
        } finally {
          await close();
        }
      });

      it('a password change with revoke-all is atomic against concurrent logins: none slips between the two', async () => {
        const user = await store.createUser({ username: unique('frank'), password: 'hash-old', isActive: true, isStaff: false, dateJoinedMs: T0 });
        const userId = String(user.id);
        const { stores, close } = await handles();
        try {
          const logins = Array.from({ length: 10 }, (_, i) => {
            const sessionId = unique('s');
            const jti = unique('j');
            return stores[i % stores.length]!.startSession(
              { id: sessionId, userId, createdAtMs: T0, expiresAtMs: T0 + DAY, userAgent: null, ip: null },
              { jti, userId, sessionId, tokenType: 'refresh', issuedAtMs: T0, expiresAtMs: T0 + DAY },
              { userRowId: user.id, passwordHash: 'hash-old' },
            );
          });
          const change = stores[stores.length - 1]!.revokeUser(userId, 'password_changed', T0 + 1, HORIZON, {
            id: user.id,
            patch: { password: 'hash-new' },
          });
          const [results, entry] = await Promise.all([Promise.all(logins), change]);
          expect(entry.generation).toBe(1);
          // Every login that got through carries the old generation: the revoke-all revokes it.
          for (const started of results) if (started) expect(started.generation).toBeLessThan(entry.generation);
          expect((await store.findUserById(user.id))!.password).toBe('hash-new');
        } finally {
          await close();
        }
      });
    });

    describe('revoking', () => {
      it('blacklistToken is idempotent: the second call writes nothing and answers no token entry', async () => {
        const a = await login(store, unique('u'), T0);
        const first = await store.blacklistToken({ jti: a.jti, userId: a.userId, expiresAtMs: a.expiresAtMs }, 'blacklisted', T0 + 10, HORIZON);
        expect(first).toEqual([
          { seq: expect.any(Number), kind: 'token', subject: a.jti, userId: a.userId, atMs: T0 + 10, expiresAtMs: a.expiresAtMs },
        ]);
        expect(await store.blacklistToken({ jti: a.jti, userId: a.userId, expiresAtMs: a.expiresAtMs }, 'blacklisted', T0 + 20, HORIZON)).toEqual([]);
        expect(await logOf(store, a.userId, T0 + 20)).toEqual(first);

        // With its session: both entries once, then nothing.
        const b = await login(store, unique('u'), T0);
        const token = { jti: b.jti, userId: b.userId, expiresAtMs: b.expiresAtMs, sessionId: b.sessionId };
        const withSession = await store.blacklistToken(token, 'blacklisted', T0 + 10, HORIZON);
        expect(withSession.map((entry) => [entry.kind, entry.subject])).toEqual([
          ['token', b.jti],
          ['session', b.sessionId],
        ]);
        expect(await store.blacklistToken(token, 'blacklisted', T0 + 20, HORIZON)).toEqual([]);
        expect(await logOf(store, b.userId, T0 + 20)).toHaveLength(2);
      });

      it('revokeSession answers an entry once, then undefined; undefined for an unknown session', async () => {
        const a = await login(store, unique('u'), T0);
        const entry = await store.revokeSession(a.sessionId, 'revoked', T0 + 10, HORIZON);
        expect(entry).toEqual({
          seq: expect.any(Number),
          kind: 'session',
          subject: a.sessionId,
          userId: a.userId,
          atMs: T0 + 10,
          expiresAtMs: T0 + 10 + HORIZON,
        });
        expect(await store.findSession(a.sessionId)).toMatchObject({ revokedAtMs: T0 + 10, revokedReason: 'revoked' });
        expect(await store.revokeSession(a.sessionId, 'revoked', T0 + 20, HORIZON)).toBeUndefined();
        expect(await store.revokeSession(unique('s'), 'revoked', T0 + 20, HORIZON)).toBeUndefined();
        expect(await logOf(store, a.userId, T0 + 20)).toEqual([entry]);
      });

      it('revokeUser raises the generation by one and logs it', async () => {
        const userId = unique('u');
        const first = await store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
        expect(first).toEqual({
          seq: expect.any(Number),
          kind: 'user',
          subject: userId,
          userId,
          generation: 1,
          atMs: T0 + 10,
          expiresAtMs: T0 + 10 + HORIZON,
        });
        const second = await store.revokeUser(userId, 'revoke_all', T0 + 20, HORIZON);
        expect(second).toMatchObject({ generation: 2 });
        expect(second.seq).toBeGreaterThan(first.seq);
        expect(await store.userGeneration(userId)).toBe(2);
        expect(await store.unmarkedUserRevocations()).toContainEqual({ userId, generation: 2, reason: 'revoke_all' });
      });

      it('revokeUser with alsoChangeUser writes the change in the same transaction (patch, delete, failure)', async () => {
        const make = () => store.createUser({ username: unique('gina'), password: 'hash-old', isActive: true, isStaff: false, dateJoinedMs: T0 });

        const patched = await make();
        const entry = await store.revokeUser(String(patched.id), 'password_changed', T0 + 10, HORIZON, {
          id: patched.id,
          patch: { password: 'hash-new', isActive: false },
        });
        expect(entry.generation).toBe(1);
        expect(await store.findUserById(patched.id)).toMatchObject({ password: 'hash-new', isActive: false });

        const deleted = await make();
        await store.revokeUser(String(deleted.id), 'deleted', T0 + 10, HORIZON, { id: deleted.id, delete: true });
        expect(await store.findUserById(deleted.id)).toBeUndefined();
        expect(await store.userGeneration(String(deleted.id))).toBe(1);

        // A change that fails (NOT NULL violated) takes the revoke-all down with it, and vice versa.
        const failing = await make();
        await expect(
          store.revokeUser(String(failing.id), 'password_changed', T0 + 10, HORIZON, {
            id: failing.id,
            patch: { password: null as unknown as string },
          }),
        ).rejects.toThrow();
        expect(await store.userGeneration(String(failing.id))).toBe(0);
        expect(await logOf(store, String(failing.id), T0 + 10)).toEqual([]);
        expect((await store.findUserById(failing.id))!.password).toBe('hash-old');
      });

      it('markUserTokensBlacklisted walks 2,500 tokens in batches of 1,000, then the sessions, then is done (and idempotent)', async () => {
        const userId = unique('u');
        const prefix = unique('m');
        const old = await login(store, userId, T0);
        const otherUser = await login(store, unique('u'), T0);
        const jti = (i: number) => `${prefix}-${String(i).padStart(5, '0')}`;
        const token = (i: number, generation: number, expiresAtMs = T0 + DAY): OutstandingToken => ({
          jti: jti(i),
          userId,
          sessionId: old.sessionId,
          tokenType: 'refresh',
          generation,
          issuedAtMs: T0,
          expiresAtMs,
        });
        // 2,499 live tokens of generation 0 (plus the login's own: 2,500), 5 already expired.
        const seeded = Array.from({ length: 2499 }, (_, i) => token(i * 2, 0));
        for (let i = 0; i < 5; i++) seeded.push(token(i * 2 + 1, 0, T0 - 1));
        await seedTokens(store, seeded);
        // Three of them were blacklisted one by one already.
        for (const i of [0, 2, 4]) await store.blacklistToken({ jti: jti(i), userId, expiresAtMs: T0 + DAY }, 'blacklisted', T0 + 100, HORIZON);

        const { generation } = await store.revokeUser(userId, 'revoke_all', T0 + 500, HORIZON);
        // Tokens of the new generation are not touched.
        const fresh = await login(store, userId, T0 + 600);
        await seedTokens(store, Array.from({ length: 5 }, (_, i) => ({ ...token(10_000 + i, generation), sessionId: fresh.sessionId })));

        const steps = await markAll(store, userId, generation, T0 + 1000, 1000);
        expect(steps.map((step) => step.done)).toEqual([false, false, false, true]);
        expect(steps.map((step) => step.afterJti === null)).toEqual([false, false, true, true]);
        for (const step of steps) expect(step.marked).toBeLessThanOrEqual(1000);
        expect(steps.reduce((sum, step) => sum + step.marked, 0)).toBe(2497);
        if (store instanceof SqlStore) {
          const { count } = await store.db
            .selectFrom('blacklisted_tokens')
            .select((eb) => eb.fn.countAll<number>().as('count'))
            .where('user_id', '=', userId)
            .executeTakeFirstOrThrow();
          expect(Number(count)).toBe(2500);
        }
        expect((await store.unmarkedUserRevocations()).filter((pending) => pending.userId === userId)).toEqual([]);
        expect(await store.findSession(old.sessionId)).toMatchObject({ revokedAtMs: T0 + 1000, revokedReason: 'revoke_all' });
        expect((await store.findSession(fresh.sessionId))!.revokedAtMs).toBeNull();
        expect((await store.useRefreshToken(present(fresh, T0 + 2000))).status).toBe('ok');
        expect((await store.useRefreshToken(present(otherUser, T0 + 2000))).status).toBe('ok');

        // Idempotent: walking again marks nothing and ends the same way.
        const again = await markAll(store, userId, generation, T0 + 3000, 1000);
        expect(again.reduce((sum, step) => sum + step.marked, 0)).toBe(0);
        expect(again.at(-1)!.done).toBe(true);
        expect(await store.findSession(old.sessionId)).toMatchObject({ revokedAtMs: T0 + 1000 });
      });

      it('markUserTokensBlacklisted marks older sessions in batches of `limit` before it answers done', async () => {
        const userId = unique('u');
        const sessions = [await login(store, userId, T0), await login(store, userId, T0), await login(store, userId, T0)];
        const { generation } = await store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
        const step = () => store.markUserTokensBlacklisted(userId, generation, 'revoke_all', T0 + 20, { afterJti: null, limit: 2 });
        expect(await step()).toEqual({ marked: 0, afterJti: null, done: false });
        expect(await store.unmarkedUserRevocations()).toContainEqual({ userId, generation, reason: 'revoke_all' });
        expect(await step()).toEqual({ marked: 0, afterJti: null, done: true });
        for (const session of sessions) expect(await store.findSession(session.sessionId)).toMatchObject({ revokedAtMs: T0 + 20 });
        expect((await store.unmarkedUserRevocations()).filter((pending) => pending.userId === userId)).toEqual([]);
        // A later revoke-all is pending again until it is marked.
        await store.revokeUser(userId, 'revoke_all', T0 + 30, HORIZON);
        expect(await store.unmarkedUserRevocations()).toContainEqual({ userId, generation: generation + 1, reason: 'revoke_all' });
      });
    });

    describe('sessions', () => {
      it('listSessions: live sessions only, most recently used first; revokeOtherSessions keeps one', async () => {
        const userId = unique('u');
        const s1 = await login(store, userId, T0, { userAgent: 'one', ip: '192.0.2.1' });
        const s2 = await login(store, userId, T0 + 1000);
        const s3 = await login(store, userId, T0 + 2000);
        const expired = await login(store, userId, T0 + 3000, { expiresAtMs: T0 + 5000 });
        const revoked = await login(store, userId, T0 + 4000);
        await store.revokeSession(revoked.sessionId, 'revoked', T0 + 4500, HORIZON);
        await store.useRefreshToken(present(s1, T0 + 6000));
        const neighbour = await login(store, unique('u'), T0);

        expect(await store.listSessions(userId, T0 + 10_000)).toEqual([
          { id: s1.sessionId, createdAtMs: T0, lastUsedAtMs: T0 + 6000, userAgent: 'one', ip: '192.0.2.1' },
          { id: s3.sessionId, createdAtMs: T0 + 2000, lastUsedAtMs: T0 + 2000, userAgent: null, ip: null },
          { id: s2.sessionId, createdAtMs: T0 + 1000, lastUsedAtMs: T0 + 1000, userAgent: null, ip: null },
        ]);

        const entries = await store.revokeOtherSessions(userId, s3.sessionId, 'logout_others', T0 + 11_000, HORIZON);
        expect(entries.map((entry) => entry.kind)).toEqual(['session', 'session']);
        expect(entries.map((entry) => entry.subject).sort()).toEqual([s1.sessionId, s2.sessionId].sort());
        expect(await store.findSession(expired.sessionId)).toMatchObject({ revokedAtMs: null });
        expect(await store.findSession(revoked.sessionId)).toMatchObject({ revokedAtMs: T0 + 4500 });
        expect(await store.findSession(neighbour.sessionId)).toMatchObject({ revokedAtMs: null });
        expect((await store.listSessions(userId, T0 + 11_000)).map((session) => session.id)).toEqual([s3.sessionId]);
        expect(await store.revokeOtherSessions(userId, s3.sessionId, 'logout_others', T0 + 12_000, HORIZON)).toEqual([]);

        // A revoke-all hides every session it revoked, before any bookkeeping ran.
        await store.revokeUser(userId, 'revoke_all', T0 + 13_000, HORIZON);
        expect(await store.listSessions(userId, T0 + 13_000)).toEqual([]);
        const after = await login(store, userId, T0 + 14_000);
        expect((await store.listSessions(userId, T0 + 14_000)).map((session) => session.id)).toEqual([after.sessionId]);
      });
    });

    describe('the revocation log', () => {
      it('loadRevocations answers entries in seq order, after afterSeq, within the horizon', async () => {
        const TL = Date.UTC(2026, 3, 1);
        const later = TL + MINUTE;
        const userId = unique('u');
        const writerHorizon = 5 * MINUTE;
        const token = await store.blacklistToken({ jti: unique('j'), userId, expiresAtMs: TL + 10 * MINUTE }, 'blacklisted', TL, writerHorizon);
        const session = await login(store, userId, TL);
        const sessionEntry = await store.revokeSession(session.sessionId, 'revoked', TL + 10, writerHorizon);
        const userEntry = await store.revokeUser(userId, 'revoke_all', TL + 20, writerHorizon);
        const written = [...token, sessionEntry!, userEntry];

        const all = await store.loadRevocations(later, 0, writerHorizon);
        expect(all.map((entry) => entry.seq)).toEqual([...all.map((entry) => entry.seq)].sort((a, b) => a - b));
        expect(new Set(all.map((entry) => entry.seq)).size).toBe(all.length);
        expect(all.filter((entry) => entry.userId === userId)).toEqual(written);
        expect(await logOf(store, userId, later, written[0]!.seq, writerHorizon)).toEqual(written.slice(1));
        expect(await logOf(store, userId, later, written[2]!.seq, writerHorizon)).toEqual([]);
        // Right after the writes, a store whose sequence order is not commit order (PostgreSQL, MySQL)
        // may answer entries at or before afterSeq again: never fewer than those after it.
        const soon = await logOf(store, userId, TL + 30, written[0]!.seq, writerHorizon);
        expect(soon.slice(-2)).toEqual(written.slice(1));
        expect(written).toEqual(expect.arrayContaining(soon));

        // Token entries live until the token expires; session and user entries for the writer's horizon,
        // or the reader's, whichever is longer.
        expect(await logOf(store, userId, TL + 6 * MINUTE, 0, writerHorizon)).toEqual(written.slice(0, 1));
        expect(await logOf(store, userId, TL + 6 * MINUTE, 0, 10 * MINUTE)).toEqual(written);
        expect(await logOf(store, userId, TL + 10 * MINUTE, 0, writerHorizon)).toEqual([]);
        expect(await logOf(store, userId, TL + 10 * MINUTE, 0, 20 * MINUTE)).toEqual(written.slice(1));
      });

      it('flushExpired deletes only what has expired', async () => {
        // Long before any other test's rows, so that this flush touches this test's rows only.
        const TF = Date.UTC(2001, 0, 1);
        const userId = unique('u');
        const a = await login(store, userId, TF, { expiresAtMs: TF + 1000 });
        const b = await login(store, userId, TF, { expiresAtMs: TF + 10_000 });
        const c = await login(store, userId, TF, { expiresAtMs: TF + 10_000 });
        const x1 = unique('j');
        const x2 = unique('j');
        await store.blacklistToken({ jti: x1, userId, expiresAtMs: TF + 1000 }, 'blacklisted', TF + 100, 500);
        const [kept] = await store.blacklistToken({ jti: x2, userId, expiresAtMs: TF + 10_000 }, 'blacklisted', TF + 100, 500);
        await store.revokeSession(a.sessionId, 'revoked', TF + 200, 500);
        const revokedC = await store.revokeSession(c.sessionId, 'revoked', TF + 5000, 500);

        expect(await store.flushExpired(TF + 1000, 500)).toEqual({ outstandingTokens: 1, blacklistedTokens: 1, sessions: 1, revocationLog: 2 });
        expect(await store.findSession(a.sessionId)).toBeUndefined();
        expect(await store.findSession(b.sessionId)).toBeDefined();
        expect(await store.findSession(c.sessionId)).toBeDefined();
        expect(await logOf(store, userId, TF + 1000, 0, 500)).toEqual([kept, revokedC]);
        // b's token is still tracked; a's is gone.
        expect((await store.useRefreshToken(present(b, TF + 1500))).status).toBe('ok');
        expect((await store.useRefreshToken(present(a, TF + 1500))).status).toBe('untracked');
        // x2 is still blacklisted.
        expect(await store.blacklistToken({ jti: x2, userId, expiresAtMs: TF + 10_000 }, 'blacklisted', TF + 1500, 500)).toEqual([]);
        expect(await store.flushExpired(TF + 1000, 500)).toEqual({ outstandingTokens: 0, blacklistedTokens: 0, sessions: 0, revocationLog: 0 });
      });
    });

    describe('through Auth', () => {
      const durability = !kind.canReopen
        ? 'durability: revocations are in force for a new Auth over the same store (PGlite in memory cannot be reopened)'
        : 'durability: revocations are in force after the store is closed and the database reopened';
      it(durability, async () => {
        const clock = clockAt(0);
        const first = kind.canReopen ? await database.open() : borrowed(store);
        const before = await testAuth({ database: first, clock });
        const make = (name: string) => before.users.create({ username: unique(name), password: 'pw' });
        const [alice, bob, carol, dave] = await Promise.all([make('alice'), make('bob'), make('carol'), make('dave')]);
        const pairs = {
          alice: await before.issueTokens(alice),
          bob: await before.issueTokens(bob),
          carol: await before.issueTokens(carol),
          dave: await before.issueTokens(dave),
        };
        await before.revokeAllForUser(alice.id);
        expect(await before.revokeSession(String(decodePayload(pairs.bob.access).sid))).toBe(true);
        await before.blacklist(pairs.carol.refresh);
        await before.close(); // closes `first` (a connection of its own) unless the database cannot reopen

        const second = kind.canReopen ? await database.open() : borrowed(store);
        const after = await testAuth({ database: second, clock });
        try {
          expect(revokedLevel(after, pairs.alice.access)).toBe('user');
          expect(revokedLevel(after, pairs.bob.access)).toBe('session');
          expect(revokedLevel(after, pairs.carol.access)).toBe('session');
          expect(revokedLevel(after, pairs.dave.access)).toBeUndefined();
          await expect(after.refresh(pairs.alice.refresh)).rejects.toBeInstanceOf(TokenRevokedError);
          await expect(after.refresh(pairs.bob.refresh)).rejects.toBeInstanceOf(TokenRevokedError);
          await expect(after.refresh(pairs.carol.refresh)).rejects.toBeInstanceOf(TokenRevokedError);
          await expect(after.refresh(pairs.dave.refresh)).resolves.toHaveProperty('access');
          // The bookkeeping after alice's revoke-all was finished before the close.
          expect((await second.unmarkedUserRevocations()).filter((pending) => pending.userId === String(alice.id))).toEqual([]);
          // And alice can log in again.
          expect(accepted(after, (await after.obtainTokens(alice.username, 'pw')).access)).toBe(true);
        } finally {
          await after.close();
        }
      });

      it('the same-second revoke-all boundary is exact: before it refused, after it (same second) accepted', async () => {
        const clock = clockAt(0);
        const auth = await testAuth({ database: borrowed(store), clock, settings: { rotateRefreshTokens: true } });
        try {
          const user = await auth.users.create({ username: unique('hank'), password: 'pw' });
          clock.advance(100);
          const beforeRevoke = await auth.issueTokens(user);
          clock.advance(300);
          await auth.revokeAllForUser(user.id);
          clock.advance(300);
          const afterRevoke = await auth.issueTokens(user);
          expect(decodePayload(afterRevoke.access).iat).toBe(decodePayload(beforeRevoke.access).iat);

          expect(revokedLevel(auth, beforeRevoke.access)).toBe('user');
          expect(accepted(auth, afterRevoke.access)).toBe(true);
          await expect(auth.refresh(beforeRevoke.refresh)).rejects.toBeInstanceOf(TokenRevokedError);
          const refreshed = await auth.refresh(afterRevoke.refresh);
          expect(accepted(auth, refreshed.access)).toBe(true);

          // Another instance that learns of the revoke-all from the store draws the same line.
          const other = await testAuth({ database: borrowed(store), clock, settings: { rotateRefreshTokens: true } });
          try {
            expect(revokedLevel(other, beforeRevoke.access)).toBe('user');
            expect(accepted(other, afterRevoke.access)).toBe(true);
            await expect(other.refresh(refreshed.refresh!)).resolves.toHaveProperty('access');
          } finally {
            await other.close();
          }
        } finally {
          await auth.close();
        }
      });

      it('100 concurrent refreshes of one token with rotation on: exactly one succeeds, reuse detected once', async () => {
        const auth = await testAuth({ database: borrowed(store), settings: { rotateRefreshTokens: true } });
        try {
          const user = await auth.users.create({ username: unique('ivy'), password: 'pw' });
          const pair = await auth.obtainTokens(user.username, 'pw');
          let reuses = 0;
          auth.on('refreshReuseDetected', () => {
            reuses++;
          });
          const results = await Promise.allSettled(Array.from({ length: 100 }, () => auth.refresh(pair.refresh)));
          const failures = results.filter((result) => result.status === 'rejected');
          expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
          for (const failure of failures) expect(failure.reason).toBeInstanceOf(TokenError);
          expect(reuses).toBe(1);
        } finally {
          await auth.close();
        }
      });
    });
  });

  // PGlite takes seconds to start and is one instance per database: nothing to isolate side by side.
  if (!kind.cheapToCreate) return;
  describe('isolated databases', () => {
    it('migrations run in two databases (files, schemas) side by side, and keep their data apart', async () => {
      const a = await kind.create();
      const b = await kind.create();
      try {
        const storeA = await a.open();
        await storeA.migrate();
        // Two instances starting at once on an empty database where the database allows it.
        const storesB = kind.concurrentHandles ? [await b.open(), await b.open()] : [await b.open()];
        await Promise.all(storesB.map((each) => each.migrate()));
        await storeA.migrate();
        const username = unique('jill');
        await storeA.createUser({ username, password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 });
        expect(await storeA.findUserByUsername(username)).toBeDefined();
        expect(await storesB[0]!.findUserByUsername(username)).toBeUndefined();
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });
  });
}

