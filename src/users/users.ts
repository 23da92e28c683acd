import type { Clock } from '../clock.ts';
import { UserNotFoundError, ValidationError } from '../errors.ts';
import type { UserPatch, UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { type PasswordHasher, isSupportedHash } from './passwords.ts';

/** A user as the library hands it out: everything but the password hash. */
export type User = Omit<UserRecord, 'password'>;

/** What `auth.users.create` takes; `isActive` defaults to true, `isStaff` to false. */
export interface NewUserInput {
  username: string;
  password: string;
  isStaff?: boolean;
  isActive?: boolean;
}

/** The built-in user table (standalone mode): `auth.users`. */
export interface Users {
  /** Creates a user with an argon2id hash of `password`. Throws `UserExistsError` for a taken name. */
  create(input: NewUserInput): Promise<User>;
  findByUsername(username: string): Promise<User | undefined>;
  findById(id: number): Promise<User | undefined>;
  /**
   * Checks a username and password. Returns the user when both match and the user is active;
   * otherwise undefined, after the same amount of work whichever part was wrong. (An outdated hash is
   * upgraded by logins, which can do it atomically, not here.)
   */
  authenticate(username: string, password: string): Promise<User | undefined>;
  /** Replaces the password hash (no token is revoked: `auth.changePassword` does that). */
  setPassword(id: number, password: string): Promise<void>;
  /** Activates or deactivates a user. Deactivating revokes every token of the user at once. */
  setActive(id: number, active: boolean): Promise<void>;
  /** Deletes a user after revoking every token of the user. False when there was no such user. */
  delete(id: number): Promise<boolean>;
}

/** Django's `AbstractUser.username` limit. */
const MAX_USERNAME_LENGTH = 150;

export interface UsersDependencies {
  store: Store;
  hasher: PasswordHasher;
  clock: Clock;
  /** Revokes every token of the user (by its user id claim), writing `change` in the same transaction. */
  revokeAll(user: User, reason: string, change: { patch?: UserPatch; delete?: boolean }): Promise<unknown>;
}

/**
 * The user row a login verified, hash included (what the login guard compares against), and a stronger
 * hash of the same password when the stored one is outdated: written by the login's own transaction,
 * only if the stored hash is still the one verified.
 */
export type VerifiedUser = UserRecord & { upgradedHash?: string };

export function createUsers({ store, hasher, clock, revokeAll }: UsersDependencies): Users & {
  verifyCredentials(username: string, password: string): Promise<VerifiedUser | undefined>;
} {
  const verifyCredentials = async (username: string, password: string) => {
    const record = await store.findUserByUsername(username);
    // Exactly one verification per attempt, whatever is wrong: an unknown username, or a stored hash in
    // no supported format, is checked against the decoy (same cost parameters), and an inactive user's
    // password is checked before the flag is looked at. So the time does not tell them apart.
    const usable = record !== undefined && isSupportedHash(record.password);
    const matches = await hasher.verify(usable ? record.password : hasher.decoyHash, password);
    if (!record || !usable || !matches || !record.isActive) return undefined;
    const verified: VerifiedUser = record;
    if (hasher.needsRehash(record.password)) verified.upgradedHash = await hasher.hash(password);
    return verified;
  };
  const existing = async (id: number) => {
    const record = await store.findUserById(id);
    if (!record) throw new UserNotFoundError();
    return publicUser(record);
  };

  return {
    verifyCredentials,
    async create(input) {
      const username = typeof input.username === 'string' ? input.username.trim() : '';
      const problems: Record<string, string[]> = {};
      if (!username) problems.username = ['This field may not be blank.'];
      else if (username.length > MAX_USERNAME_LENGTH) {
        problems.username = [`Ensure this field has no more than ${MAX_USERNAME_LENGTH} characters.`];
      }
      if (typeof input.password !== 'string' || input.password === '') {
        problems.password = ['This field may not be blank.'];
      }
      if (Object.keys(problems).length) throw new ValidationError(problems);
      const record = await store.createUser({
        username,
        password: await hasher.hash(input.password),
        isActive: input.isActive ?? true,
        isStaff: input.isStaff ?? false,
        dateJoinedMs: clock(),
      });
      return publicUser(record);
    },
    async findByUsername(username) {
      const record = await store.findUserByUsername(username);
      return record && publicUser(record);
    },
    async findById(id) {
      const record = await store.findUserById(id);
      return record && publicUser(record);
    },
    async authenticate(username, password) {
      const record = await verifyCredentials(username, password);
      return record && publicUser(record);
    },
    async setPassword(id, password) {
      if (!(await store.updateUser(id, { password: await hasher.hash(password) }))) throw new UserNotFoundError();
    },
    async setActive(id, active) {
      const user = await existing(id);
      if (active) await store.updateUser(id, { isActive: true });
      else await revokeAll(user, 'deactivated', { patch: { isActive: false } });
    },
    async delete(id) {
      const record = await store.findUserById(id);
      if (!record) return false;
      await revokeAll(publicUser(record), 'deleted', { delete: true });
      return true;
    },
  };
}

export function publicUser(record: UserRecord): User {
  const { password: _hash, ...user } = record;
  return user;
}
