import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { TokenError } from '../src/errors.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';
import { SIGNING_KEY, clockAt, decodePayload, tempDir, testAuth } from './helpers.ts';
import { signLikeSimpleJwt, simpleJwtClaims } from './support/foreign-token.ts';

function isRejected(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (error) {
    if (error instanceof TokenError) return true;
    throw error;
  }
}

describe('revoke-all boundary (injected clock)', () => {
  it('refuses a token issued before the revoke-all and accepts one issued after it in the same second', async () => {
    const clock = clockAt(250);
    const auth = await testAuth({ clock });
    const user = await auth.users.create({ username: 'alice', password: 'pw' });
    const before = await auth.issueTokens(user);
    clock.advance(100);
    await auth.revokeAllForUser(user.id);
    clock.advance(100);
    const after = await auth.issueTokens(user);
    expect(decodePayload(after.access).iat).toBe(decodePayload(before.access).iat);

    expect(isRejected(() => auth.verifyAccess(before.access))).toBe(true);
    expect(isRejected(() => auth.verifyToken(before.refresh))).toBe(true);
    await expect(auth.refresh(before.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(isRejected(() => auth.verifyAccess(after.access))).toBe(false);
    await expect(auth.refresh(after.refresh)).resolves.toHaveProperty('access');
    await auth.close();
  });

  it('fails closed for a token minted elsewhere (no generation claim) in the same second, and accepts the next second', async () => {
    const clock = clockAt(250);
    const auth = await testAuth({ clock });
    const user = await auth.users.create({ username: 'alice', password: 'pw' });
    await auth.revokeAllForUser(user.id);
    clock.advance(100);
    const seconds = Math.floor(clock() / 1000);
    const sameSecond = signLikeSimpleJwt(simpleJwtClaims('access', user.id, seconds), SIGNING_KEY);
    const nextSecond = signLikeSimpleJwt(simpleJwtClaims('access', user.id, seconds + 1), SIGNING_KEY);
    clock.advance(1000);
    expect(isRejected(() => auth.verifyAccess(sameSecond))).toBe(true);
    expect(isRejected(() => auth.verifyAccess(nextSecond))).toBe(false);
    await auth.close();
  });
});

describe('revoke-all on a user holding 10,000 outstanding tokens', () => {
  let auth: Auth;
  const victim: { id: number; pairs: { access: string; refresh: string }[] } = { id: 0, pairs: [] };
  let bystanderPair: { access: string; refresh: string };
  let bystanderId: number;

  beforeAll(async () => {
    auth = await testAuth();
    const user = await auth.users.create({ username: 'victim', password: 'pw' });
    const other = await auth.users.create({ username: 'bystander', password: 'pw' });
    victim.id = user.id;
    bystanderId = other.id;
    for (let i = 0; i < 10_000; i++) victim.pairs.push(await auth.issueTokens(user));
    bystanderPair = await auth.issueTokens(other);
  }, 120_000);
  afterAll(() => auth.close());

  it("rejects every one of the user's refresh and access tokens and leaves another user's alone", async () => {
    for (const pair of victim.pairs.slice(0, 3)) expect(isRejected(() => auth.verifyAccess(pair.access))).toBe(false);
    await auth.revokeAllForUser(victim.id, { reason: 'compromised' });

    let accessAlive = 0;
    let refreshAlive = 0;
    for (const pair of victim.pairs) {
      if (!isRejected(() => auth.verifyAccess(pair.access))) accessAlive++;
      if (!isRejected(() => auth.verifyToken(pair.refresh))) refreshAlive++;
    }
    expect({ accessAlive, refreshAlive }).toEqual({ accessAlive: 0, refreshAlive: 0 });
    // The store agrees, not only the cache: refreshing any of them fails.
    for (const pair of [victim.pairs[0]!, victim.pairs[4999]!, victim.pairs[9999]!]) {
      await expect(auth.refresh(pair.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    }
    expect(isRejected(() => auth.verifyAccess(bystanderPair.access))).toBe(false);
    await expect(auth.refresh(bystanderPair.refresh)).resolves.toHaveProperty('access');
  });

  it('then marks the outstanding tokens blacklisted with one set-based statement, so listings are truthful', async () => {
    await auth.settled();
    const db = (auth.store as SqlStore).db;
    const count = async (userId: number) =>
      Number(
        (
          await db
            .selectFrom('blacklisted_tokens')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('user_id', '=', String(userId))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count(victim.id)).toBe(10_000);
    expect(await count(bystanderId)).toBe(0);
    const liveSessions = await db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', String(victim.id))
      .where('revoked_at_ms', 'is', null)
      .executeTakeFirstOrThrow();
    expect(Number(liveSessions.n)).toBe(0);
  });
});

describe('revocations survive a restart', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps token, session and user revocations after closing and reopening the database file', async () => {
    const database = `sqlite:${join(dir.path, 'auth.db')}`;
    const first = await testAuth({ database });
    const alice = await first.users.create({ username: 'alice', password: 'pw' });
    const bob = await first.users.create({ username: 'bob', password: 'pw' });
    const carol = await first.users.create({ username: 'carol', password: 'pw' });
    const blacklisted = await first.issueTokens(alice);
    const sessionRevoked = await first.issueTokens(bob);
    const userRevoked = await first.issueTokens(carol);
    const untouched = await first.issueTokens(alice);
    await first.blacklist(blacklisted.refresh);
    await first.revokeSession(String(decodePayload(sessionRevoked.access).sid));
    await first.revokeAllForUser(carol.id);
    await first.close();

    const second = await testAuth({ database });
    for (const pair of [blacklisted, sessionRevoked, userRevoked]) {
      expect(isRejected(() => second.verifyAccess(pair.access))).toBe(true);
      await expect(second.refresh(pair.refresh)).rejects.toBeInstanceOf(TokenError);
    }
    expect(isRejected(() => second.verifyAccess(untouched.access))).toBe(false);
    await expect(second.refresh(untouched.refresh)).resolves.toHaveProperty('access');
    await second.close();
  });

  it('finishes an interrupted revoke-all bookkeeping on the next start', async () => {
    const database = `sqlite:${join(dir.path, 'interrupted.db')}`;
    const first = await testAuth({ database });
    const user = await first.users.create({ username: 'dave', password: 'pw' });
    await first.issueTokens(user);
    await first.issueTokens(user);
    // The durable write alone, as if the process died before the set-based statement ran.
    await first.store.revokeUser(String(user.id), 'crash-test', Date.now(), 86_400_000);
    expect(await first.store.unmarkedUserRevocations()).toHaveLength(1);
    await first.close();

    const second = await testAuth({ database });
    await second.settled();
    expect(await second.store.unmarkedUserRevocations()).toHaveLength(0);
    const rows = await (second.store as SqlStore).db
      .selectFrom('blacklisted_tokens')
      .select('jti')
      .where('user_id', '=', String(user.id))
      .execute();
    expect(rows).toHaveLength(2);
    await second.close();
  });
});

describe('rotation is atomic and single-use (library)', () => {
  it.each([8, 100])('%i concurrent refreshes of one refresh token: exactly one succeeds', async (concurrency) => {
    const auth = await testAuth({ settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } });
    const user = await auth.users.create({ username: 'alice', password: 'pw' });
    const { refresh } = await auth.issueTokens(user);
    const outcomes = await Promise.allSettled(Array.from({ length: concurrency }, () => auth.refresh(refresh)));
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(concurrency - 1);
    for (const outcome of lost) expect(outcome.reason).toMatchObject({ detail: 'Token is blacklisted' });
    const outstanding = await (auth.store as SqlStore).db
      .selectFrom('outstanding_tokens')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(outstanding.n)).toBe(2);
    await auth.close();
  });
});

describe('revocations written by another process on the same database', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('reach this instance through the revocation log (as from the CLI)', async () => {
    const database = `sqlite:${join(dir.path, 'shared.db')}`;
    const server = await testAuth({ database });
    const cli = await testAuth({ database });
    const user = await server.users.create({ username: 'alice', password: 'pw' });
    const pair = await server.issueTokens(user);
    expect(isRejected(() => server.verifyAccess(pair.access))).toBe(false);

    await cli.revokeAllForUser(user.id, { reason: 'cli' });
    expect(await server.syncRevocations()).toBe(1);
    expect(isRejected(() => server.verifyAccess(pair.access))).toBe(true);
    await cli.close();
    await server.close();
  });
});
