import { expect, it } from 'vitest';
import type { OutstandingToken } from '../../../src/store/records.ts';
import { SqlStore } from '../../../src/store/sql/sql-store.ts';
import { DAY, HORIZON, type StoreContext, T0, logOf, login, markAll, present, seedTokens, unique } from '../support.ts';

/** blacklistToken, revokeSession, revokeUser and the bookkeeping after a revoke-all. */
export function revokingConformance(ctx: StoreContext): void {
  it('blacklistToken is idempotent: the second call writes nothing and answers no token entry', async () => {
    const a = await login(ctx.store, unique('u'), T0);
    const first = await ctx.store.blacklistToken({ jti: a.jti, userId: a.userId, expiresAtMs: a.expiresAtMs }, 'blacklisted', T0 + 10, HORIZON);
    expect(first).toEqual([
      { seq: expect.any(Number), kind: 'token', subject: a.jti, userId: a.userId, atMs: T0 + 10, expiresAtMs: a.expiresAtMs },
    ]);
    expect(await ctx.store.blacklistToken({ jti: a.jti, userId: a.userId, expiresAtMs: a.expiresAtMs }, 'blacklisted', T0 + 20, HORIZON)).toEqual([]);
    expect(await logOf(ctx.store, a.userId, T0 + 20)).toEqual(first);

    // With its session: both entries once, then nothing.
    const b = await login(ctx.store, unique('u'), T0);
    const token = { jti: b.jti, userId: b.userId, expiresAtMs: b.expiresAtMs, sessionId: b.sessionId };
    const withSession = await ctx.store.blacklistToken(token, 'blacklisted', T0 + 10, HORIZON);
    expect(withSession.map((entry) => [entry.kind, entry.subject])).toEqual([
      ['token', b.jti],
      ['session', b.sessionId],
    ]);
    expect(await ctx.store.blacklistToken(token, 'blacklisted', T0 + 20, HORIZON)).toEqual([]);
    expect(await logOf(ctx.store, b.userId, T0 + 20)).toHaveLength(2);
  });

  it('revokeSession answers an entry once, then undefined; undefined for an unknown session', async () => {
    const a = await login(ctx.store, unique('u'), T0);
    const entry = await ctx.store.revokeSession(a.sessionId, 'revoked', T0 + 10, HORIZON);
    expect(entry).toEqual({
      seq: expect.any(Number),
      kind: 'session',
      subject: a.sessionId,
      userId: a.userId,
      atMs: T0 + 10,
      expiresAtMs: T0 + 10 + HORIZON,
    });
    expect(await ctx.store.findSession(a.sessionId)).toMatchObject({ revokedAtMs: T0 + 10, revokedReason: 'revoked' });
    expect(await ctx.store.revokeSession(a.sessionId, 'revoked', T0 + 20, HORIZON)).toBeUndefined();
    expect(await ctx.store.revokeSession(unique('s'), 'revoked', T0 + 20, HORIZON)).toBeUndefined();
    expect(await logOf(ctx.store, a.userId, T0 + 20)).toEqual([entry]);
  });

  it('revokeUser raises the generation by one and logs it', async () => {
    const userId = unique('u');
    const first = await ctx.store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
    expect(first).toEqual({
      seq: expect.any(Number),
      kind: 'user',
      subject: userId,
      userId,
      generation: 1,
      atMs: T0 + 10,
      expiresAtMs: T0 + 10 + HORIZON,
    });
    const second = await ctx.store.revokeUser(userId, 'revoke_all', T0 + 20, HORIZON);
    expect(second).toMatchObject({ generation: 2 });
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(await ctx.store.userGeneration(userId)).toBe(2);
    expect(await ctx.store.unmarkedUserRevocations()).toContainEqual({ userId, generation: 2, reason: 'revoke_all' });
  });

  it('revokeUser with alsoChangeUser writes the change in the same transaction (patch, delete, failure)', async () => {
    const make = () => ctx.store.createUser({ username: unique('gina'), password: 'hash-old', isActive: true, isStaff: false, dateJoinedMs: T0 });

    const patched = await make();
    const entry = await ctx.store.revokeUser(String(patched.id), 'password_changed', T0 + 10, HORIZON, {
      id: patched.id,
      patch: { password: 'hash-new', isActive: false },
    });
    expect(entry.generation).toBe(1);
    expect(await ctx.store.findUserById(patched.id)).toMatchObject({ password: 'hash-new', isActive: false });

    const deleted = await make();
    await ctx.store.revokeUser(String(deleted.id), 'deleted', T0 + 10, HORIZON, { id: deleted.id, delete: true });
    expect(await ctx.store.findUserById(deleted.id)).toBeUndefined();
    expect(await ctx.store.userGeneration(String(deleted.id))).toBe(1);

    // A change that fails (NOT NULL violated) takes the revoke-all down with it, and vice versa.
    const failing = await make();
    await expect(
      ctx.store.revokeUser(String(failing.id), 'password_changed', T0 + 10, HORIZON, {
        id: failing.id,
        patch: { password: null as unknown as string },
      }),
    ).rejects.toThrow();
    expect(await ctx.store.userGeneration(String(failing.id))).toBe(0);
    expect(await logOf(ctx.store, String(failing.id), T0 + 10)).toEqual([]);
    expect((await ctx.store.findUserById(failing.id))!.password).toBe('hash-old');
  });

  it('markUserTokensBlacklisted walks 2,500 tokens in batches of 1,000, then the sessions, then is done (and idempotent)', async () => {
    const userId = unique('u');
    const prefix = unique('m');
    const old = await login(ctx.store, userId, T0);
    const otherUser = await login(ctx.store, unique('u'), T0);
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
    await seedTokens(ctx.store, seeded);
    // Three of them were blacklisted one by one already.
    for (const i of [0, 2, 4]) await ctx.store.blacklistToken({ jti: jti(i), userId, expiresAtMs: T0 + DAY }, 'blacklisted', T0 + 100, HORIZON);

    const { generation } = await ctx.store.revokeUser(userId, 'revoke_all', T0 + 500, HORIZON);
    // Tokens of the new generation are not touched.
    const fresh = await login(ctx.store, userId, T0 + 600);
    await seedTokens(ctx.store, Array.from({ length: 5 }, (_, i) => ({ ...token(10_000 + i, generation), sessionId: fresh.sessionId })));

    const steps = await markAll(ctx.store, userId, generation, T0 + 1000, 1000);
    expect(steps.map((step) => step.done)).toEqual([false, false, false, true]);
    expect(steps.map((step) => step.afterJti === null)).toEqual([false, false, true, true]);
    for (const step of steps) expect(step.marked).toBeLessThanOrEqual(1000);
    expect(steps.reduce((sum, step) => sum + step.marked, 0)).toBe(2497);
    if (ctx.store instanceof SqlStore) {
      const { count } = await ctx.store.db
        .selectFrom('blacklisted_tokens')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(2500);
    }
    expect((await ctx.store.unmarkedUserRevocations()).filter((pending) => pending.userId === userId)).toEqual([]);
    expect(await ctx.store.findSession(old.sessionId)).toMatchObject({ revokedAtMs: T0 + 1000, revokedReason: 'revoke_all' });
    expect((await ctx.store.findSession(fresh.sessionId))!.revokedAtMs).toBeNull();
    expect((await ctx.store.useRefreshToken(present(fresh, T0 + 2000))).status).toBe('ok');
    expect((await ctx.store.useRefreshToken(present(otherUser, T0 + 2000))).status).toBe('ok');

    // Idempotent: walking again marks nothing and ends the same way.
    const again = await markAll(ctx.store, userId, generation, T0 + 3000, 1000);
    expect(again.reduce((sum, step) => sum + step.marked, 0)).toBe(0);
    expect(again.at(-1)!.done).toBe(true);
    expect(await ctx.store.findSession(old.sessionId)).toMatchObject({ revokedAtMs: T0 + 1000 });
  });

  it('markUserTokensBlacklisted marks older sessions in batches of `limit` before it answers done', async () => {
    const userId = unique('u');
    const sessions = [await login(ctx.store, userId, T0), await login(ctx.store, userId, T0), await login(ctx.store, userId, T0)];
    const { generation } = await ctx.store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
    const step = () => ctx.store.markUserTokensBlacklisted(userId, generation, 'revoke_all', T0 + 20, { afterJti: null, limit: 2 });
    expect(await step()).toEqual({ marked: 0, afterJti: null, done: false });
    expect(await ctx.store.unmarkedUserRevocations()).toContainEqual({ userId, generation, reason: 'revoke_all' });
    expect(await step()).toEqual({ marked: 0, afterJti: null, done: true });
    for (const session of sessions) expect(await ctx.store.findSession(session.sessionId)).toMatchObject({ revokedAtMs: T0 + 20 });
    expect((await ctx.store.unmarkedUserRevocations()).filter((pending) => pending.userId === userId)).toEqual([]);
    // A later revoke-all is pending again until it is marked.
    await ctx.store.revokeUser(userId, 'revoke_all', T0 + 30, HORIZON);
    expect(await ctx.store.unmarkedUserRevocations()).toContainEqual({ userId, generation: generation + 1, reason: 'revoke_all' });
  });
}
