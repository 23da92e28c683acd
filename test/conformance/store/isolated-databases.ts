import { expect, it } from 'vitest';
import { type StoreContext, T0, unique } from '../support.ts';

/** Two databases of one kind side by side: migrated at once, their data kept apart. */
export function isolatedDatabasesConformance(ctx: StoreContext): void {
  it('migrations run in two databases (files, schemas) side by side, and keep their data apart', async () => {
    const a = await ctx.kind.create();
    const b = await ctx.kind.create();
    try {
      const storeA = await a.open();
      await storeA.migrate();
      // Two instances starting at once on an empty database where the database allows it.
      const storesB = ctx.kind.concurrentHandles ? [await b.open(), await b.open()] : [await b.open()];
      await Promise.all(storesB.map((each) => each.migrate()));
      await storeA.migrate();
      const username = unique('jill');
      await storeA.createUser({ username, password: 'h', isActive: true, isStaff: false, dateJoinedMs: T0 });
      expect(await storeA.findUserByUsername(username)).toBeDefined();
      expect(await storesB[0]!.findUserByUsername(username)).toBeUndefined();
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
}
