import { expect, it } from 'vitest';
import { HORIZON, type StoreContext, T0, login, present, unique } from '../support.ts';

/** Listing live sessions and revoking all but one. */
export function sessionsConformance(ctx: StoreContext): void {
  it('listSessions: live sessions only, most recently used first; revokeOtherSessions keeps one', async () => {
    const userId = unique('u');
    const s1 = await login(ctx.store, userId, T0, { userAgent: 'one', ip: '192.0.2.1' });
    const s2 = await login(ctx.store, userId, T0 + 1000);
    const s3 = await login(ctx.store, userId, T0 + 2000);
    const expired = await login(ctx.store, userId, T0 + 3000, { expiresAtMs: T0 + 5000 });
    const revoked = await login(ctx.store, userId, T0 + 4000);
    await ctx.store.revokeSession(revoked.sessionId, 'revoked', T0 + 4500, HORIZON);
    await ctx.store.useRefreshToken(present(s1, T0 + 6000));
    const neighbour = await login(ctx.store, unique('u'), T0);

    expect(await ctx.store.listSessions(userId, T0 + 10_000)).toEqual([
      { id: s1.sessionId, createdAtMs: T0, lastUsedAtMs: T0 + 6000, userAgent: 'one', ip: '192.0.2.1' },
      { id: s3.sessionId, createdAtMs: T0 + 2000, lastUsedAtMs: T0 + 2000, userAgent: null, ip: null },
      { id: s2.sessionId, createdAtMs: T0 + 1000, lastUsedAtMs: T0 + 1000, userAgent: null, ip: null },
    ]);

    const entries = await ctx.store.revokeOtherSessions(userId, s3.sessionId, 'logout_others', T0 + 11_000, HORIZON);
    expect(entries.map((entry) => entry.kind)).toEqual(['session', 'session']);
    expect(entries.map((entry) => entry.subject).sort()).toEqual([s1.sessionId, s2.sessionId].sort());
    expect(await ctx.store.findSession(expired.sessionId)).toMatchObject({ revokedAtMs: null });
    expect(await ctx.store.findSession(revoked.sessionId)).toMatchObject({ revokedAtMs: T0 + 4500 });
    expect(await ctx.store.findSession(neighbour.sessionId)).toMatchObject({ revokedAtMs: null });
    expect((await ctx.store.listSessions(userId, T0 + 11_000)).map((session) => session.id)).toEqual([s3.sessionId]);
    expect(await ctx.store.revokeOtherSessions(userId, s3.sessionId, 'logout_others', T0 + 12_000, HORIZON)).toEqual([]);

    // A revoke-all hides every session it revoked, before any bookkeeping ran.
    await ctx.store.revokeUser(userId, 'revoke_all', T0 + 13_000, HORIZON);
    expect(await ctx.store.listSessions(userId, T0 + 13_000)).toEqual([]);
    const after = await login(ctx.store, userId, T0 + 14_000);
    expect((await ctx.store.listSessions(userId, T0 + 14_000)).map((session) => session.id)).toEqual([after.sessionId]);
  });
}
