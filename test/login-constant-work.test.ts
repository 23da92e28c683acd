import { parseOptions } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { type PasswordHasher, createPasswordHasher } from '../src/users/passwords.ts';
import { createUsers } from '../src/users/users.ts';
import { FAST_HASHING, testAuth } from './helpers.ts';

/**
 * A login must cost the same whether or not the username exists, so that its time does not tell.
 * This asserts the behaviour that makes it so (one full password verification per attempt, against a
 * hash of the same cost parameters), never a timing: bench/login-timing.ts measures the times.
 */

const PASSWORD = 'correct horse battery';

/** The real hasher, every `verify` call recorded with the hash it was given. */
function countingHasher(inner: PasswordHasher): PasswordHasher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    decoyHash: inner.decoyHash,
    hash: (password) => inner.hash(password),
    needsRehash: (encoded) => inner.needsRehash(encoded),
    verify(encoded, password) {
      calls.push(encoded);
      return inner.verify(encoded, password);
    },
  };
}

let auth: Auth;
let hasher: ReturnType<typeof countingHasher>;
let users: ReturnType<typeof createUsers>;
let aliceHash: string;

beforeAll(async () => {
  auth = await testAuth();
  hasher = countingHasher(await createPasswordHasher(FAST_HASHING));
  users = createUsers({ store: auth.store, hasher, clock: Date.now, revokeAll: async () => {} });
  const alice = await users.create({ username: 'alice', password: PASSWORD });
  aliceHash = (await auth.store.findUserById(alice.id))!.password;
  await users.create({ username: 'inactive', password: PASSWORD, isActive: false });
  const unusable = await users.create({ username: 'unusable', password: PASSWORD });
  // What Django's set_unusable_password() stores, as import-django brings it over.
  await auth.store.updateUser(unusable.id, { password: '!Xq3rTl9vNdkX2YpM4JvRkW8cZhsPbGaTQnLf' });
});
afterAll(() => auth.close());

/** The hashes `verifyCredentials` verified against during one attempt, and its outcome. */
async function attempt(username: string, password: string) {
  hasher.calls.length = 0;
  const user = await users.verifyCredentials(username, password);
  return { verified: [...hasher.calls], succeeded: user !== undefined };
}

describe('every login attempt costs exactly one password verification', () => {
  it('the decoy hash has the cost parameters of a real hash', () => {
    expect(hasher.decoyHash.startsWith('$argon2id$')).toBe(true);
    expect(parseOptions(hasher.decoyHash)).toEqual(parseOptions(aliceHash));
    expect(hasher.decoyHash).not.toBe(aliceHash);
  });

  it('an unknown username is verified once, against the decoy', async () => {
    expect(await attempt('nobody', PASSWORD)).toEqual({ verified: [hasher.decoyHash], succeeded: false });
  });

  it('a known user with a wrong password is verified once, against their hash', async () => {
    expect(await attempt('alice', 'wrong')).toEqual({ verified: [aliceHash], succeeded: false });
  });

  it('a known user with the right password is verified once and succeeds', async () => {
    expect(await attempt('alice', PASSWORD)).toEqual({ verified: [aliceHash], succeeded: true });
  });

  it('an inactive user is verified once and refused, whether the password is right or wrong', async () => {
    for (const password of [PASSWORD, 'wrong']) {
      const { verified, succeeded } = await attempt('inactive', password);
      expect(verified).toHaveLength(1);
      expect(verified[0]).not.toBe(hasher.decoyHash);
      expect(succeeded).toBe(false);
    }
  });

  it('a user whose stored hash is in no supported format is verified once, against the decoy, and refused', async () => {
    expect(await attempt('unusable', PASSWORD)).toEqual({ verified: [hasher.decoyHash], succeeded: false });
  });

  it('users.authenticate goes the same way', async () => {
    hasher.calls.length = 0;
    expect(await users.authenticate('nobody', PASSWORD)).toBeUndefined();
    expect(await users.authenticate('alice', PASSWORD)).toMatchObject({ username: 'alice' });
    expect(hasher.calls).toEqual([hasher.decoyHash, aliceHash]);
  });
});
