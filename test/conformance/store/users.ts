import { expect, it } from 'vitest';
import { UserExistsError } from '../../../src/errors.ts';
import { type StoreContext, T0, unique } from '../support.ts';

/** Creating, finding, updating and deleting users; taken and case-different usernames. */
export function usersConformance(ctx: StoreContext): void {
  it('creates, finds, updates and deletes a user', async () => {
    const username = unique('alice');
    const created = await ctx.store.createUser({ username, password: 'hash-1', isActive: true, isStaff: false, dateJoinedMs: T0 });
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
    expect(await ctx.store.findUserById(created.id)).toEqual(created);
    expect(await ctx.store.findUserByUsername(username)).toEqual(created);

    expect(await ctx.store.updateUser(created.id, { password: 'hash-2', isActive: false, isStaff: true, lastLoginMs: T0 + 5 })).toBe(true);
    expect(await ctx.store.findUserById(created.id)).toEqual({
      ...created,
      password: 'hash-2',
      isActive: false,
      isStaff: true,
      lastLoginMs: T0 + 5,
    });
    expect(await ctx.store.updateUser(created.id, {})).toBe(true);

    expect(await ctx.store.deleteUser(created.id)).toBe(true);
    expect(await ctx.store.deleteUser(created.id)).toBe(false);
    expect(await ctx.store.findUserById(created.id)).toBeUndefined();
    expect(await ctx.store.findUserByUsername(username)).toBeUndefined();
    expect(await ctx.store.updateUser(created.id, { isActive: true })).toBe(false);
    expect(await ctx.store.updateUser(created.id, {})).toBe(false);
  });

  it('answers undefined for ids and names that match no user', async () => {
    expect(await ctx.store.findUserById(2 ** 31 - 7)).toBeUndefined();
    expect(await ctx.store.findUserById(Number.NaN)).toBeUndefined();
    expect(await ctx.store.findUserById(2 ** 60)).toBeUndefined();
    expect(await ctx.store.findUserByUsername(unique('nobody'))).toBeUndefined();
  });

  it('refuses a taken username with UserExistsError, also under 10 concurrent creations', async () => {
    const username = unique('bob');
    const user = { username, password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 };
    await ctx.store.createUser(user);
    await expect(ctx.store.createUser(user)).rejects.toBeInstanceOf(UserExistsError);

    const raced = unique('carol');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => ctx.store.createUser({ ...user, username: raced })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(UserExistsError);
    }
  });

  it('treats usernames as exact strings, as Django does: "alice" and "Alice" are two users', async () => {
    const lower = unique('dave');
    const upper = lower.toUpperCase();
    const user = { password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 };
    const first = await ctx.store.createUser({ ...user, username: lower });
    expect(await ctx.store.findUserByUsername(upper)).toBeUndefined();
    expect(await ctx.store.findUserByUsername(`${lower} `)).toBeUndefined();
    const second = await ctx.store.createUser({ ...user, username: upper });
    expect(second.id).not.toBe(first.id);
  });
}
