import { describe, expect, it } from 'vitest';
import { TokenError } from '../src/errors.ts';
import { accepted, clockAt, decodePayload, testAuth } from './helpers.ts';

const ROTATION = { rotateRefreshTokens: true, blacklistAfterRotation: true };


async function setUp(settings: Record<string, unknown> = {}, clock = clockAt(0)) {
  const auth = await testAuth({ clock, settings: { ...ROTATION, ...settings } });
  const user = await auth.users.create({ username: 'alice', password: 'pw' });
  return { auth, user, clock };
}

describe('reuse detection', () => {
  it('reusing a rotated refresh token revokes its whole session, and only that session', async () => {
    const { auth, user } = await setUp();
    const first = await auth.issueTokens(user);
    const otherSession = await auth.issueTokens(user);
    const rotated = await auth.refresh(first.refresh);

    await expect(auth.refresh(first.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted', code: 'token_not_valid' });
    await expect(auth.refresh(rotated.refresh!)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, rotated.access)).toBe(false);
    expect(accepted(auth, first.access)).toBe(false);
    expect(accepted(auth, otherSession.access)).toBe(true);
    await expect(auth.refresh(otherSession.refresh)).resolves.toHaveProperty('refresh');
    await auth.close();
  });

  it('reuse also revokes the session when rotation is on without blacklistAfterRotation', async () => {
    const { auth, user } = await setUp({ blacklistAfterRotation: false });
    const first = await auth.issueTokens(user);
    const rotated = await auth.refresh(first.refresh);
    await expect(auth.refresh(first.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, rotated.access)).toBe(false);
    await auth.close();
  });

  it('forgives an immediate retry with the previous token within reuseGraceSeconds, not after', async () => {
    const { auth, user, clock } = await setUp({ reuseGraceSeconds: 10 });
    const first = await auth.issueTokens(user);
    const second = await auth.refresh(first.refresh);

    // A retry within the window: refused, but the session lives on.
    clock.advance(10_000);
    await expect(auth.refresh(first.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, second.access)).toBe(true);

    // Past the window: the same presentation is reuse, and the session dies.
    clock.advance(1);
    await expect(auth.refresh(first.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, second.access)).toBe(false);
    await expect(auth.refresh(second.refresh!)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    await auth.close();
  });

  it('does not forgive an older ancestor, even within the grace window', async () => {
    const { auth, user } = await setUp({ reuseGraceSeconds: 10 });
    const first = await auth.issueTokens(user);
    const second = await auth.refresh(first.refresh);
    const third = await auth.refresh(second.refresh!);
    await expect(auth.refresh(first.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, third.access)).toBe(false);
    await auth.close();
  });

  it.each([
    [0, false],
    [10, true],
  ])('100 concurrent refreshes with reuseGraceSeconds %i: one new pair; the session survives: %s', async (grace, survives) => {
    const { auth, user } = await setUp({ reuseGraceSeconds: grace });
    const { refresh } = await auth.issueTokens(user);
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => auth.refresh(refresh)));
    const pairs = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(pairs).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ detail: 'Token is blacklisted' });
    }
    const winner = pairs[0]!;
    expect(accepted(auth, winner.access)).toBe(survives);
    if (survives) await expect(auth.refresh(winner.refresh!)).resolves.toHaveProperty('refresh');
    else await expect(auth.refresh(winner.refresh!)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    await auth.close();
  });
});

describe('sessionMaxLifetime', () => {
  it('never lets rotation extend a session past it, and refuses refresh once it is reached', async () => {
    const { auth, user, clock } = await setUp({ sessionMaxLifetime: '1h', refreshTokenLifetime: '1d' });
    const start = Math.floor(clock() / 1000);
    const first = await auth.issueTokens(user);
    expect(decodePayload(first.refresh).exp).toBe(start + 3600);

    clock.advance(59 * 60_000);
    const rotated = await auth.refresh(first.refresh);
    expect(decodePayload(rotated.refresh!).exp).toBe(start + 3600);
    expect(decodePayload(rotated.access).exp).toBe(start + 3600);

    clock.advance(60_000);
    await expect(auth.refresh(rotated.refresh!)).rejects.toMatchObject({ detail: 'Token is invalid or expired' });
    await auth.close();
  });

  it('defaults to none, as Simple JWT: rotation extends the refresh token', async () => {
    const { auth, user, clock } = await setUp();
    expect(auth.settings.sessionMaxLifetime).toBeNull();
    const first = await auth.issueTokens(user);
    clock.advance(23 * 3600_000);
    const rotated = await auth.refresh(first.refresh);
    expect(decodePayload(rotated.refresh!).exp).toBe(Math.floor(clock() / 1000) + 86400);
    await auth.close();
  });
});

describe('user lifecycle', () => {
  it('deactivating a user rejects their live tokens at once; reactivating does not revive them', async () => {
    const { auth, user } = await setUp();
    const pair = await auth.issueTokens(user);
    await auth.users.setActive(user.id, false);
    expect(accepted(auth, pair.access)).toBe(false);
    await expect(auth.obtainTokens('alice', 'pw')).rejects.toMatchObject({ code: 'no_active_account' });
    await auth.users.setActive(user.id, true);
    expect(accepted(auth, pair.access)).toBe(false);
    await expect(auth.refresh(pair.refresh)).rejects.toBeInstanceOf(TokenError);
    const fresh = await auth.obtainTokens('alice', 'pw');
    expect(accepted(auth, fresh.access)).toBe(true);
    await auth.close();
  });

  it('deleting a user revokes every token of the user', async () => {
    const { auth, user } = await setUp();
    const pair = await auth.issueTokens(user);
    expect(await auth.users.delete(user.id)).toBe(true);
    expect(accepted(auth, pair.access)).toBe(false);
    expect(await auth.users.delete(user.id)).toBe(false);
    await auth.close();
  });

  it('a password change wins over a login that verified the old password just before it', async () => {
    const { auth } = await setUp();
    let changed: Promise<void> | undefined;
    // The login's credentials check passes; the password changes before its session is recorded.
    const realStart = auth.store.startSession.bind(auth.store);
    auth.store.startSession = async (...args) => {
      changed ??= auth.changePassword(1, 'pw', 'new password');
      await changed;
      return realStart(...args);
    };
    await expect(auth.obtainTokens('alice', 'pw')).rejects.toMatchObject({ code: 'no_active_account' });
    auth.store.startSession = realStart;
    await expect(auth.obtainTokens('alice', 'new password')).resolves.toHaveProperty('access');
    await auth.close();
  });
});
