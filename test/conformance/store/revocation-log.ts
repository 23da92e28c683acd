import { expect, it } from 'vitest';
import { MINUTE, type StoreContext, logOf, login, present, unique } from '../support.ts';

/** Reading the revocation log, and flushing what has expired. */
export function revocationLogConformance(ctx: StoreContext): void {
  it('loadRevocations answers entries in seq order, after afterSeq, within the horizon', async () => {
    const TL = Date.UTC(2026, 3, 1);
    const later = TL + MINUTE;
    const userId = unique('u');
    const writerHorizon = 5 * MINUTE;
    const token = await ctx.store.blacklistToken({ jti: unique('j'), userId, expiresAtMs: TL + 10 * MINUTE }, 'blacklisted', TL, writerHorizon);
    const session = await login(ctx.store, userId, TL);
    const sessionEntry = await ctx.store.revokeSession(session.sessionId, 'revoked', TL + 10, writerHorizon);
    const userEntry = await ctx.store.revokeUser(userId, 'revoke_all', TL + 20, writerHorizon);
    const written = [...token, sessionEntry!, userEntry];

    const all = await ctx.store.loadRevocations(later, 0, writerHorizon);
    expect(all.map((entry) => entry.seq)).toEqual([...all.map((entry) => entry.seq)].sort((a, b) => a - b));
    expect(new Set(all.map((entry) => entry.seq)).size).toBe(all.length);
    expect(all.filter((entry) => entry.userId === userId)).toEqual(written);
    expect(await logOf(ctx.store, userId, later, written[0]!.seq, writerHorizon)).toEqual(written.slice(1));
    expect(await logOf(ctx.store, userId, later, written[2]!.seq, writerHorizon)).toEqual([]);
    // Right after the writes, a store whose sequence order is not commit order (PostgreSQL, MySQL)
    // may answer entries at or before afterSeq again: never fewer than those after it.
    const soon = await logOf(ctx.store, userId, TL + 30, written[0]!.seq, writerHorizon);
    expect(soon.slice(-2)).toEqual(written.slice(1));
    expect(written).toEqual(expect.arrayContaining(soon));

    // Token entries live until the token expires; session and user entries for the writer's horizon,
    // or the reader's, whichever is longer.
    expect(await logOf(ctx.store, userId, TL + 6 * MINUTE, 0, writerHorizon)).toEqual(written.slice(0, 1));
    expect(await logOf(ctx.store, userId, TL + 6 * MINUTE, 0, 10 * MINUTE)).toEqual(written);
    expect(await logOf(ctx.store, userId, TL + 10 * MINUTE, 0, writerHorizon)).toEqual([]);
    expect(await logOf(ctx.store, userId, TL + 10 * MINUTE, 0, 20 * MINUTE)).toEqual(written.slice(1));
  });

  it('flushExpired deletes only what has expired', async () => {
    // Long before any other test's rows, so that this flush touches this test's rows only.
    const TF = Date.UTC(2001, 0, 1);
    const userId = unique('u');
    const a = await login(ctx.store, userId, TF, { expiresAtMs: TF + 1000 });
    const b = await login(ctx.store, userId, TF, { expiresAtMs: TF + 10_000 });
    const c = await login(ctx.store, userId, TF, { expiresAtMs: TF + 10_000 });
    const x1 = unique('j');
    const x2 = unique('j');
    await ctx.store.blacklistToken({ jti: x1, userId, expiresAtMs: TF + 1000 }, 'blacklisted', TF + 100, 500);
    const [kept] = await ctx.store.blacklistToken({ jti: x2, userId, expiresAtMs: TF + 10_000 }, 'blacklisted', TF + 100, 500);
    await ctx.store.revokeSession(a.sessionId, 'revoked', TF + 200, 500);
    const revokedC = await ctx.store.revokeSession(c.sessionId, 'revoked', TF + 5000, 500);

    expect(await ctx.store.flushExpired(TF + 1000, 500)).toEqual({ outstandingTokens: 1, blacklistedTokens: 1, sessions: 1, revocationLog: 2 });
    expect(await ctx.store.findSession(a.sessionId)).toBeUndefined();
    expect(await ctx.store.findSession(b.sessionId)).toBeDefined();
    expect(await ctx.store.findSession(c.sessionId)).toBeDefined();
    expect(await logOf(ctx.store, userId, TF + 1000, 0, 500)).toEqual([kept, revokedC]);
    // b's token is still tracked; a's is gone.
    expect((await ctx.store.useRefreshToken(present(b, TF + 1500))).status).toBe('ok');
    expect((await ctx.store.useRefreshToken(present(a, TF + 1500))).status).toBe('untracked');
    // x2 is still blacklisted.
    expect(await ctx.store.blacklistToken({ jti: x2, userId, expiresAtMs: TF + 10_000 }, 'blacklisted', TF + 1500, 500)).toEqual([]);
    expect(await ctx.store.flushExpired(TF + 1000, 500)).toEqual({ outstandingTokens: 0, blacklistedTokens: 0, sessions: 0, revocationLog: 0 });
  });
}
