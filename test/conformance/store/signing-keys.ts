import { expect, it } from 'vitest';
import { generateKeyMaterial } from '../../../src/keys/generate.ts';
import type { SigningKeyRecord } from '../../../src/store/records.ts';
import type { Store } from '../../../src/store/store.ts';
import { DAY, MINUTE, SECOND, type StoreContext, T0, unique } from '../support.ts';

/**
 * The managed signing keys: added, listed oldest first, activated one standby key at a time. Signing keys
 * are global to a database (an Auth over it would sign with them), so the test works in a database of
 * its own where one is cheap, and otherwise runs last on the shared one, on kids of its own.
 */
export function signingKeysConformance(ctx: StoreContext): void {
  it('adds and lists keys (oldest first, a PEM private key whole); activates standby keys only, ending the ones they replace', async () => {
    const own = ctx.kind.cheapToCreate ? await ctx.kind.create() : undefined;
    try {
      let store: Store = ctx.store;
      if (own) {
        store = await own.open();
        await store.migrate();
      }
      const prefix = unique('kid');
      const rsa = generateKeyMaterial('RS256');
      const record = (name: string, createdAtMs: number, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
        kid: `${prefix}-${name}`,
        algorithm: 'RS256',
        privateKey: rsa.privateKey,
        publicKey: rsa.publicKey as string,
        createdAtMs,
        activatesAtMs: null,
        verifyUntilMs: null,
        ...overrides,
      });
      const current = record('current', T0, { algorithm: 'HS256', privateKey: 'an-hmac-secret', publicKey: null, activatesAtMs: T0 });
      const next = record('next', T0 + SECOND);
      const later = record('later', T0 + 2 * SECOND);
      // Kids are compared exactly: one differing in case only is another key.
      const upper = record('NEXT', T0 + 3 * SECOND);
      for (const key of [later, current, upper, next]) await store.addSigningKey(key);
      const mine = async () => (await store.listSigningKeys()).filter((key) => key.kid.startsWith(prefix));
      expect(await mine()).toEqual([current, next, later, upper]);

      expect(await store.activateSigningKey(next.kid, T0 + MINUTE, T0 + DAY)).toBe(true);
      const afterFirst = [{ ...current, verifyUntilMs: T0 + DAY }, { ...next, activatesAtMs: T0 + MINUTE }, later, upper];
      expect(await mine()).toEqual(afterFirst);

      // A key that is not standby (active, scheduled, unknown) is not activated, and nothing changes.
      expect(await store.activateSigningKey(next.kid, T0 + 2 * MINUTE, T0 + 2 * DAY)).toBe(false);
      expect(await store.activateSigningKey(current.kid, T0 + 2 * MINUTE, T0 + 2 * DAY)).toBe(false);
      expect(await store.activateSigningKey(`${prefix}-unknown`, T0 + 2 * MINUTE, T0 + 2 * DAY)).toBe(false);
      expect(await mine()).toEqual(afterFirst);

      // The next rotation ends the key scheduled by the previous one; an end already set stays.
      expect(await store.activateSigningKey(later.kid, T0 + 2 * MINUTE, T0 + 2 * DAY)).toBe(true);
      expect(await mine()).toEqual([
        { ...current, verifyUntilMs: T0 + DAY },
        { ...next, activatesAtMs: T0 + MINUTE, verifyUntilMs: T0 + 2 * DAY },
        { ...later, activatesAtMs: T0 + 2 * MINUTE },
        upper,
      ]);
    } finally {
      await own?.dispose();
    }
  });
}
