import { expect, it } from 'vitest';
import type { FlushCounts, FlushProgress } from '../../../src/store/store.ts';
import { type Login, type StoreContext, login, present, unique } from '../support.ts';

const NOTHING: FlushCounts = { outstandingTokens: 0, blacklistedTokens: 0, sessions: 0, revocationLog: 0 };
const total = (counts: FlushCounts) => counts.outstandingTokens + counts.blacklistedTokens + counts.sessions + counts.revocationLog;

/** flushExpired in bounded batches: the batch size, the progress it reports, stopping half-way. */
export function flushConformance(ctx: StoreContext): void {
  it('flushExpired deletes in batches of batchSize, reports its progress, and stops between batches when aborted', async () => {
    // Before every other test's rows (the revocation log test flushes at 2001), so these flushes see only this test's.
    const TB = Date.UTC(1999, 0, 1);
    const userId = unique('u');
    const expired: Login[] = [];
    for (let i = 0; i < 7; i++) expired.push(await login(ctx.store, userId, TB, { expiresAtMs: TB + 1000 }));
    const live = await login(ctx.store, userId, TB, { expiresAtMs: TB + 100_000 });
    for (let i = 0; i < 5; i++) {
      await ctx.store.blacklistToken({ jti: unique('j'), userId, expiresAtMs: TB + 1000 }, 'blacklisted', TB + 100, 500);
    }
    await ctx.store.revokeSession(expired[0]!.sessionId, 'revoked', TB + 200, 500);
    // 7 logins minus the one that is left, 5 blacklisted tokens, 7 sessions, 5 token entries and a session entry.
    const expected = { outstandingTokens: 7, blacklistedTokens: 5, sessions: 7, revocationLog: 6 };

    const stop = new AbortController();
    const partial = await ctx.store.flushExpired(TB + 1000, 500, {
      batchSize: 2,
      signal: stop.signal,
      onProgress: ({ deleted }) => {
        if (deleted.outstandingTokens >= 2) stop.abort();
      },
    });
    expect(partial).toEqual({ ...NOTHING, outstandingTokens: 2 });

    const progress: FlushProgress[] = [];
    const rest = await ctx.store.flushExpired(TB + 1000, 500, { batchSize: 2, onProgress: (p) => progress.push(p) });
    const left = { ...expected, outstandingTokens: expected.outstandingTokens - 2 };
    expect(rest).toEqual(left);
    expect(progress[0]).toEqual({ deleted: NOTHING, expected: left });
    expect(progress.at(-1)!.deleted).toEqual(left);
    for (let i = 1; i < progress.length; i++) {
      const step = total(progress[i]!.deleted) - total(progress[i - 1]!.deleted);
      expect(step).toBeGreaterThanOrEqual(0);
      expect(step).toBeLessThanOrEqual(2);
    }
    expect(progress.length - 1).toBeGreaterThanOrEqual(Math.ceil(total(left) / 2));

    expect(await ctx.store.findSession(live.sessionId)).toBeDefined();
    expect((await ctx.store.useRefreshToken(present(live, TB + 1500))).status).toBe('ok');
    expect(await ctx.store.flushExpired(TB + 1000, 500, { batchSize: 2 })).toEqual(NOTHING);
    // Leave nothing behind for a later flush to count.
    expect(await ctx.store.flushExpired(Date.UTC(2000, 0, 1), 500)).toEqual({ ...NOTHING, outstandingTokens: 1, sessions: 1 });
  });
}
