import { expect, it } from 'vitest';
import type { Store } from '../../../src/store/store.ts';
import { DAY, HORIZON, type StoreContext, T0, login, unique } from '../support.ts';

/** startSession, and the guard that refuses a login whose user changed meanwhile. */
export function loginGuardConformance(ctx: StoreContext): void {
  it('startSession records the session and its first token at the user generation', async () => {
    const userId = unique('u');
    const started = await login(ctx.store, userId, T0, { userAgent: 'agent/1', ip: '192.0.2.1' });
    expect(started.generation).toBe(0);
    expect(await ctx.store.userGeneration(userId)).toBe(0);
    expect(await ctx.store.findSession(started.sessionId)).toEqual({
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
    expect(await ctx.store.findSession(unique('s'))).toBeUndefined();

    await ctx.store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
    expect(await ctx.store.userGeneration(userId)).toBe(1);
    expect((await login(ctx.store, userId, T0 + 20)).generation).toBe(1);
  });

  it('the login guard refuses when the password hash changed, the user is inactive or gone', async () => {
    const user = await ctx.store.createUser({ username: unique('erin'), password: 'hash-a', isActive: true, isStaff: false, dateJoinedMs: T0 });
    const userId = String(user.id);
    const attempt = async (guard: Parameters<Store['startSession']>[2]) => {
      const sessionId = unique('s');
      const jti = unique('j');
      const started = await ctx.store.startSession(
        { id: sessionId, userId, createdAtMs: T0, expiresAtMs: T0 + DAY, userAgent: null, ip: null },
        { jti, userId, sessionId, tokenType: 'refresh', issuedAtMs: T0, expiresAtMs: T0 + DAY },
        guard,
      );
      return { started, session: await ctx.store.findSession(sessionId) };
    };

    const ok = await attempt({ userRowId: user.id, passwordHash: 'hash-a' });
    expect(ok.started).toEqual({ generation: 0 });
    expect(ok.session).toBeDefined();

    const stale = await attempt({ userRowId: user.id, passwordHash: 'hash-old', upgradedHash: 'hash-upgraded' });
    expect(stale.started).toBeUndefined();
    expect(stale.session).toBeUndefined();
    expect((await ctx.store.findUserById(user.id))!.password).toBe('hash-a');

    const upgraded = await attempt({ userRowId: user.id, passwordHash: 'hash-a', upgradedHash: 'hash-b' });
    expect(upgraded.started).toEqual({ generation: 0 });
    expect((await ctx.store.findUserById(user.id))!.password).toBe('hash-b');

    await ctx.store.updateUser(user.id, { isActive: false });
    const inactive = await attempt({ userRowId: user.id, passwordHash: 'hash-b' });
    expect(inactive.started).toBeUndefined();
    expect(inactive.session).toBeUndefined();

    await ctx.store.deleteUser(user.id);
    const deleted = await attempt({ userRowId: user.id, passwordHash: 'hash-b' });
    expect(deleted.started).toBeUndefined();
    expect(deleted.session).toBeUndefined();
  });
}
