import { expect, it } from 'vitest';
import { TokenError, TokenRevokedError } from '../../../src/errors.ts';
import { clockAt, decodePayload, testAuth } from '../../helpers.ts';
import { type StoreContext, accepted, borrowed, revokedLevel, unique } from '../support.ts';

/** The store under an Auth: durability, the same-second revoke-all boundary, concurrent refreshes. */
export function throughAuthConformance(ctx: StoreContext): void {
  const durability = !ctx.kind.canReopen
    ? 'durability: revocations are in force for a new Auth over the same store (PGlite in memory cannot be reopened)'
    : 'durability: revocations are in force after the store is closed and the database reopened';
  it(durability, async () => {
    const clock = clockAt(0);
    const first = ctx.kind.canReopen ? await ctx.database.open() : borrowed(ctx.store);
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

    const second = ctx.kind.canReopen ? await ctx.database.open() : borrowed(ctx.store);
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
    const auth = await testAuth({ database: borrowed(ctx.store), clock, settings: { rotateRefreshTokens: true } });
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
      const other = await testAuth({ database: borrowed(ctx.store), clock, settings: { rotateRefreshTokens: true } });
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
    const auth = await testAuth({ database: borrowed(ctx.store), settings: { rotateRefreshTokens: true } });
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
}
