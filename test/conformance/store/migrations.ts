import { expect, it } from 'vitest';
import { type StoreContext, T0, unique } from '../support.ts';

/** Migrating a database that is already migrated. */
export function migrationsConformance(ctx: StoreContext): void {
  it('migrating again (twice) is harmless and keeps the data', async () => {
    const username = unique('migrated');
    await ctx.store.createUser({ username, password: 'hash', isActive: true, isStaff: false, dateJoinedMs: T0 });
    await ctx.store.migrate();
    await ctx.store.migrate();
    expect(await ctx.store.findUserByUsername(username)).toMatchObject({ username });
  });
}
