import { expect, it } from 'vitest';
import { HORIZON, MINUTE, type StoreContext, T0, login, unique } from '../support.ts';

/** What the admin pages read: the user search (substring, case, wildcards, paging) and every session of a user. */
export function adminConformance(ctx: StoreContext): void {
  const create = (username: string, overrides: { isActive?: boolean; isStaff?: boolean } = {}) =>
    ctx.store.createUser({ username, password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0, ...overrides });

  it('searches users by a username substring, case-insensitively, ordered by username, a page at a time', async () => {
    // A marker of lower-case letters only: every collation orders the names below the same way.
    const marker = unique('srch').replace(/[^a-z]/g, '') + Math.random().toString(36).replace(/[^a-z]/g, '');
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((name) => `${name}-${marker}`);
    for (const name of [...names].reverse()) await create(name, { isStaff: name.startsWith('bravo') });
    await create(`other-${unique('x')}`);

    const all = await ctx.store.searchUsers({ query: marker, offset: 0, limit: 10 });
    expect(all.total).toBe(5);
    expect(all.users.map((user) => user.username)).toEqual(names);
    expect(all.users[1]).toMatchObject({ username: names[1], isStaff: true, isActive: true, id: expect.any(Number) });

    const page = await ctx.store.searchUsers({ query: marker, offset: 2, limit: 2 });
    expect(page).toEqual({ total: 5, users: [expect.objectContaining({ username: names[2] }), expect.objectContaining({ username: names[3] })] });
    const past = await ctx.store.searchUsers({ query: marker, offset: 10, limit: 2 });
    expect(past).toEqual({ total: 5, users: [] });

    const upper = await ctx.store.searchUsers({ query: `CHARLIE-${marker.toUpperCase()}`, offset: 0, limit: 10 });
    expect(upper.users.map((user) => user.username)).toEqual([names[2]]);
    expect((await ctx.store.searchUsers({ query: `zulu-${marker}`, offset: 0, limit: 10 })).total).toBe(0);
  });

  it('treats % and _ in the query as themselves, and an empty query as every user', async () => {
    const marker = unique('wild');
    await create(`a%b_${marker}`);
    await create(`axbx${marker}`);
    const percent = await ctx.store.searchUsers({ query: `%b_${marker}`, offset: 0, limit: 10 });
    expect(percent.users.map((user) => user.username)).toEqual([`a%b_${marker}`]);
    const underscore = await ctx.store.searchUsers({ query: `b_${marker}`, offset: 0, limit: 10 });
    expect(underscore.total).toBe(1);
    const bang = await ctx.store.searchUsers({ query: `!${marker}`, offset: 0, limit: 10 });
    expect(bang.total).toBe(0);

    const everyone = await ctx.store.searchUsers({ query: '', offset: 0, limit: 1 });
    expect(everyone.total).toBeGreaterThanOrEqual(2);
    expect(everyone.users).toHaveLength(1);
  });

  it('lists every session of a user, live, revoked and expired, most recently used first', async () => {
    const userId = unique('admin-sessions');
    const old = await login(ctx.store, userId, T0, { userAgent: 'Old/1.0', ip: '198.51.100.1', expiresAtMs: T0 + MINUTE });
    const revoked = await login(ctx.store, userId, T0 + MINUTE, { userAgent: 'Revoked/1.0' });
    const live = await login(ctx.store, userId, T0 + 2 * MINUTE, { userAgent: 'Live/1.0', ip: '198.51.100.2' });
    await login(ctx.store, unique('someone-else'), T0 + 3 * MINUTE);
    await ctx.store.revokeSession(revoked.sessionId, 'admin: test', T0 + 4 * MINUTE, HORIZON);

    const sessions = await ctx.store.recentSessions(userId, 10);
    expect(sessions.map((session) => session.id)).toEqual([live.sessionId, revoked.sessionId, old.sessionId]);
    expect(sessions[0]).toMatchObject({ userId, userAgent: 'Live/1.0', ip: '198.51.100.2', revokedAtMs: null, createdAtMs: T0 + 2 * MINUTE });
    expect(sessions[1]).toMatchObject({ revokedAtMs: T0 + 4 * MINUTE, revokedReason: 'admin: test' });
    expect(sessions[2]).toMatchObject({ expiresAtMs: T0 + MINUTE, revokedAtMs: null });
    expect(await ctx.store.listSessions(userId, T0 + 2 * MINUTE)).toHaveLength(1);

    expect((await ctx.store.recentSessions(userId, 2)).map((session) => session.id)).toEqual([live.sessionId, revoked.sessionId]);
    expect(await ctx.store.recentSessions(unique('nobody'), 10)).toEqual([]);
  });
}
