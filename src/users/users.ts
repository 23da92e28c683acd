import type { Clock } from '../clock.ts';
import { UserNotFoundError, ValidationError } from '../errors.ts';
import type { UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { PasswordHasher } from './passwords.ts';

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
   * otherwise undefined, after the same amount of work whichever part was wrong.
   */
  authenticate(username: string, password: string): Promise<User | undefined>;
  /** Replaces the password hash (no token is revoked: `auth.changePassword` does that). */
  setPassword(id: number, password: string): Promise<void>;
}

/** Django's `AbstractUser.username` limit. */
const MAX_USERNAME_LENGTH = 150;

export function createUsers(store: Store, hasher: PasswordHasher, clock: Clock): Users {
  return {
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
      const record = await store.findUserByUsername(username);
      if (!record) {
        await hasher.burn(password);
        return undefined;
      }
      if (!(await hasher.verify(record.password, password))) return undefined;
      if (!record.isActive) return undefined;
      if (hasher.needsRehash(record.password)) {
        await store.updateUser(record.id, { password: await hasher.hash(password) });
      }
      return publicUser(record);
    },
    async setPassword(id, password) {
      if (!(await store.updateUser(id, { password: await hasher.hash(password) }))) throw new UserNotFoundError();
    },
  };
}

export function publicUser(record: UserRecord): User {
  const { password: _hash, ...user } = record;
  return user;
}
