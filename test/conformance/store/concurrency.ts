import { expect, it } from 'vitest';
import type { Store } from '../../../src/store/store.ts';
import { DAY, HORIZON, MINUTE, type StoreContext, T0, logOf, login, rotate, statuses, unique } from '../support.ts';

/** Atomicity under concurrent calls, on a second connection where the database allows one. */
export function concurrencyConformance(ctx: StoreContext): void {
  /** The shared store, plus a second independent connection where the database allows one. */
  async function handles(): Promise<{ stores: Store[]; close(): Promise<void> }> {
    if (!ctx.kind.concurrentHandles) return { stores: [ctx.store], close: async () => {} };
    const second = await ctx.database.open();
    return { stores: [ctx.store, second], close: () => second.close() };
  }

  it('rotation is single-use under 50 concurrent calls: exactly one ok, and the session revoked exactly once', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const { stores, close } = await handles();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 1000).then((result) => result.outcome)),
      );
      const counts = statuses(outcomes);
      expect(counts.ok, JSON.stringify(counts)).toBe(1);
      expect(counts['reused/revoked session'], JSON.stringify(counts)).toBe(1);
      expect((counts.revoked ?? 0) + 2, JSON.stringify(counts)).toBe(50);
      const log = await logOf(ctx.store, token.userId, T0 + 1000);
      expect(log.filter((entry) => entry.kind === 'session' && entry.subject === token.sessionId)).toHaveLength(1);
      expect(log.filter((entry) => entry.kind === 'token' && entry.subject === token.jti)).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('a rotated token presented 30 times at once revokes its session exactly once (one log entry)', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    await rotate(ctx.store, token, T0 + 1000);
    const { stores, close } = await handles();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 2000).then((result) => result.outcome)),
      );
      expect(statuses(outcomes)).toEqual({ 'reused/revoked session': 1, revoked: 29 });
      const log = await logOf(ctx.store, token.userId, T0 + 2000);
      expect(log.filter((entry) => entry.kind === 'session')).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('honest concurrent retries within the grace window are forgiven: one ok, the session stays', async () => {
    const grace = { reuse: { graceMs: MINUTE, horizonMs: HORIZON } };
    const token = await login(ctx.store, unique('u'), T0);
    const { stores, close } = await handles();
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => rotate(stores[i % stores.length]!, token, T0 + 1000, grace)),
      );
      expect(statuses(results.map((result) => result.outcome))).toEqual({ ok: 1, 'reused/forgiven': 19 });
      expect((await ctx.store.findSession(token.sessionId))!.revokedAtMs).toBeNull();
      const winner = results.find((result) => result.outcome.status === 'ok')!;
      expect((await rotate(ctx.store, winner.next, T0 + 2000, grace)).outcome.status).toBe('ok');
    } finally {
      await close();
    }
  });

  it('blacklisting one token 20 times at once writes one blacklist entry', async () => {
    const token = await login(ctx.store, unique('u'), T0);
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
      expect(await logOf(ctx.store, token.userId, T0 + 1000)).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('revoking one session 20 times at once answers one entry', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const { stores, close } = await handles();
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.revokeSession(token.sessionId, 'revoked', T0 + 1000, HORIZON)),
      );
      expect(results.filter((entry) => entry !== undefined)).toHaveLength(1);
      expect(await logOf(ctx.store, token.userId, T0 + 1000)).toHaveLength(1);
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
      expect(await ctx.store.userGeneration(userId)).toBe(20);
      const log = await logOf(ctx.store, userId, T0 + 100);
      expect(log).toHaveLength(20);
      expect(log.every((entry) => entry.kind === 'user')).toBe(true);
    } finally {
      await close();
    }
  });

  it('a password change with revoke-all is atomic against concurrent logins: none slips between the two', async () => {
    const user = await ctx.store.createUser({ username: unique('frank'), password: 'hash-old', isActive: true, isStaff: false, dateJoinedMs: T0 });
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
      expect((await ctx.store.findUserById(user.id))!.password).toBe('hash-new');
    } finally {
      await close();
    }
  });
}
