import { pbkdf2Sync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { SIGNING_KEY, accepted, clockAt, decodePayload, tempDir, testAuth } from './helpers.ts';
import { selectTestDatabases } from './support/databases.ts';
import { signLikeSimpleJwt, simpleJwtClaims } from './support/foreign-token.ts';

/** Regressions for races and cross-process cases found in review. */

const dir = tempDir();
afterAll(() => dir.remove());
let files = 0;
const sharedFile = () => `sqlite:${join(dir.path, `shared-${files++}.db`)}`;


const djangoHash = (password: string, salt = 'abcdefgh12345678', iterations = 1000) =>
  `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`;

describe('revocations written by another process', () => {
  it('are not skipped when this process writes its own log entries before it next reads the log', async () => {
    const database = sharedFile();
    const server = await testAuth({ database, settings: { rotateRefreshTokens: true } });
    const cli = await testAuth({ database });
    const alice = await server.users.create({ username: 'alice', password: 'pw' });
    const bob = await server.users.create({ username: 'bob', password: 'pw' });
    const alicePair = await server.issueTokens(alice);
    const bobPair = await server.issueTokens(bob);

    await cli.revokeAllForUser(alice.id); // log entry N, written elsewhere
    await server.refresh(bobPair.refresh); // log entry N+1, applied here at once
    await server.syncRevocations();
    expect(accepted(server, alicePair.access)).toBe(false);
    await cli.close();
    await server.close();
  });

  it("keep the reader's own horizon when the writer's tokens live shorter (a CLI run without the server's settings)", async () => {
    const clock = clockAt(0);
    const database = sharedFile();
    const server = await testAuth({ database, clock, settings: { accessTokenLifetime: '3d' } });
    const cli = await testAuth({ database, clock });
    const alice = await server.users.create({ username: 'alice', password: 'pw' });
    const pair = await server.issueTokens(alice);
    await cli.revokeAllForUser(alice.id);
    await server.syncRevocations();
    clock.advance(2 * 86_400_000);
    await server.flushExpired();
    expect(accepted(server, pair.access)).toBe(false);
    // And after a restart, which reloads the log.
    await server.close();
    const restarted = await testAuth({ database, clock, settings: { accessTokenLifetime: '3d' } });
    expect(accepted(restarted, pair.access)).toBe(false);
    await restarted.close();
    await cli.close();
  });
});

describe('login races', () => {
  it('a login upgrading an old Django hash cannot undo a password change that commits meanwhile', async () => {
    const inner = await openStore(':memory:');
    let change: Promise<void> | undefined;
    let auth!: Auth;
    // The change commits after the login verified the old password, before the login writes anything.
    const changeFirst = async () => {
      if (change) return;
      change = auth.changePassword(1, 'old password', 'new password');
      await change;
    };
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'startSession') {
          return async (...args: Parameters<Store['startSession']>) => {
            await changeFirst();
            return target.startSession(...args);
          };
        }
        if (property === 'updateUser') {
          return async (...args: Parameters<Store['updateUser']>) => {
            if (args[1].password) await changeFirst();
            return target.updateUser(...args);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    auth = await testAuth({ database: store });
    await auth.users.create({ username: 'alice', password: 'x' });
    await inner.updateUser(1, { password: djangoHash('old password') });

    await expect(auth.obtainTokens('alice', 'old password')).rejects.toMatchObject({ code: 'no_active_account' });
    await expect(auth.obtainTokens('alice', 'old password')).rejects.toMatchObject({ code: 'no_active_account' });
    await expect(auth.obtainTokens('alice', 'new password')).resolves.toHaveProperty('access');
    await auth.close();
  });

  it('a login upgrades an old Django hash to argon2id', async () => {
    const auth = await testAuth();
    await auth.users.create({ username: 'alice', password: 'x' });
    await auth.store.updateUser(1, { password: djangoHash('django password') });
    await expect(auth.obtainTokens('alice', 'django password')).resolves.toHaveProperty('access');
    expect((await auth.store.findUserById(1))!.password).toMatch(/^\$argon2id\$/);
    await expect(auth.obtainTokens('alice', 'django password')).resolves.toHaveProperty('access');
    await auth.close();
  });
});

describe('tokens minted by Simple JWT (acceptUntrackedRefreshTokens)', () => {
  it('a refresh token issued before a revoke-all is refused by the store, even where the cache has not heard of it', async () => {
    const clock = clockAt(0);
    const database = sharedFile();
    const settings = { acceptUntrackedRefreshTokens: true };
    const first = await testAuth({ database, clock, settings });
    const lagging = await testAuth({ database, clock, settings, revocationPollIntervalMs: 0 });
    const alice = await first.users.create({ username: 'alice', password: 'pw' });
    const fromDjango = signLikeSimpleJwt(simpleJwtClaims('refresh', alice.id, Math.floor(clock() / 1000), 86400), SIGNING_KEY);
    clock.advance(5_000);
    await first.revokeAllForUser(alice.id);
    await expect(lagging.refresh(fromDjango)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    await first.close();
    await lagging.close();
  });
});

describe('sessions with rotation off', () => {
  it('a session stays revocable while an access token minted late in it lives', async () => {
    const clock = clockAt(0);
    const auth = await testAuth({ clock, settings: { refreshTokenLifetime: '1h' } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const kept = await auth.issueTokens(alice);
    const late = await auth.issueTokens(alice);
    clock.advance(59 * 60_000);
    const { access } = await auth.refresh(late.refresh);
    clock.advance(2 * 60_000); // the refresh token has expired; the access token has 3 minutes left
    await auth.flushExpired();
    expect(await auth.revokeOtherSessions(alice.id, String(decodePayload(kept.access).sid))).toBe(1);
    expect(accepted(auth, access)).toBe(false);
    await auth.close();
  });

  it('logout takes effect even when the session row is gone', async () => {
    const auth = await testAuth();
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    const claims = auth.verifyAccess(pair.access);
    // As if flushExpired had deleted the session row: the claims name a session the store does not know.
    await auth.logout({ ...claims, sid: 'no-such-session' });
    expect(accepted(auth, pair.access)).toBe(false);
    await auth.close();
  });
});

describe("userIdField: 'username'", () => {
  it('revokeAllForUser and listSessions accept the numeric id too', async () => {
    const auth = await testAuth({ settings: { userIdField: 'username' } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    expect(decodePayload(pair.access).user_id).toBe('alice');
    expect(await auth.listSessions(alice.id)).toHaveLength(1);
    await auth.revokeAllForUser(alice.id);
    expect(accepted(auth, pair.access)).toBe(false);
    await expect(auth.revokeAllForUser(999)).rejects.toMatchObject({ code: 'user_not_found' });
    await auth.close();
  });
});

/**
 * Found by the race checker (`npm run race`): two password changes from the same old password, at the
 * same time, were both acknowledged ("Password changed."), and the later write silently replaced the
 * earlier one, so one caller's new password never worked. Done one after the other, the second change
 * is refused (its old password is no longer the password): so it must be when they race.
 */
const selection = await selectTestDatabases();

describe('password change races', () => {
  /** A store whose `findUserById` waits until `readers` calls have read the row: every change sees the old hash. */
  function barrierStore(inner: Store, readers: number): Store {
    let waiting: (() => void)[] = [];
    return new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'findUserById') {
          return async (...args: Parameters<Store['findUserById']>) => {
            const user = await target.findUserById(...args);
            if (waiting.length + 1 < readers) await new Promise<void>((resolve) => waiting.push(resolve));
            else {
              for (const release of waiting) release();
              waiting = [];
            }
            return user;
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it.each(selection.kinds.filter((kind) => kind.reachable).map((kind) => [kind.name, kind] as const))(
    'on %s: of two concurrent changes from the same old password, one is refused with "Wrong password."',
    async (_name, kind) => {
    const database = await kind.create();
    const inner = await database.open();
    const auth = await testAuth({ database: barrierStore(inner, 2) });
    const alice = await auth.users.create({ username: 'alice', password: 'old password' });
    const outcomes = await Promise.allSettled([
      auth.changePassword(alice.id, 'old password', 'first new password'),
      auth.changePassword(alice.id, 'old password', 'second new password'),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'invalid', fields: { old_password: ['Wrong password.'] } });
    // The acknowledged change is the one in force; the refused one left nothing behind.
    const won = outcomes[0]!.status === 'fulfilled' ? 'first new password' : 'second new password';
    const lost = won === 'first new password' ? 'second new password' : 'first new password';
    await expect(auth.obtainTokens('alice', won)).resolves.toHaveProperty('access');
    await expect(auth.obtainTokens('alice', lost)).rejects.toMatchObject({ code: 'no_active_account' });
    await expect(auth.obtainTokens('alice', 'old password')).rejects.toMatchObject({ code: 'no_active_account' });
    expect(await inner.userGeneration(String(alice.id))).toBe(1);
    await auth.close();
    await database.dispose();
    },
    60_000,
  );
});
