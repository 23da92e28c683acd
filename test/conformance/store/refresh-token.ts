import { expect, it } from 'vitest';
import { DAY, HORIZON, MINUTE, type StoreContext, T0, login, present, rotate, unique } from '../support.ts';

/** useRefreshToken: every outcome, rotation, reuse (with and without grace) and adopting untracked tokens. */
export function refreshTokenConformance(ctx: StoreContext): void {
  it('ok without rotation: touches the session, keeps it alive as long as what it mints, logs nothing', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const outcome = await ctx.store.useRefreshToken(present(token, T0 + 1000, { mintsUntilMs: T0 + 2 * DAY }));
    expect(outcome).toEqual({
      status: 'ok',
      generation: 0,
      session: expect.objectContaining({ id: token.sessionId, lastUsedAtMs: T0 + 1000, expiresAtMs: T0 + 2 * DAY }),
      sessionEndsAtMs: null,
      nextExpiresAtMs: null,
      revocations: [],
    });
    expect(await ctx.store.findSession(token.sessionId)).toMatchObject({ lastUsedAtMs: T0 + 1000, expiresAtMs: T0 + 2 * DAY });
    // Without rotation the same token is used again and again.
    expect((await ctx.store.useRefreshToken(present(token, T0 + 2000))).status).toBe('ok');
  });

  it('ok with rotation: consumes the token, logs it, records the successor', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const { outcome, next } = await rotate(ctx.store, token, T0 + 2000);
    expect(outcome).toMatchObject({ status: 'ok', generation: 0, sessionEndsAtMs: null, nextExpiresAtMs: T0 + 2000 + DAY });
    if (outcome.status !== 'ok') throw new Error('unreachable');
    expect(outcome.revocations).toEqual([
      { seq: expect.any(Number), kind: 'token', subject: token.jti, userId: token.userId, atMs: T0 + 2000, expiresAtMs: token.expiresAtMs },
    ]);
    expect(outcome.session.expiresAtMs).toBe(T0 + 2000 + DAY);
    expect((await rotate(ctx.store, next, T0 + 3000)).outcome.status).toBe('ok');
  });

  it('untracked: a token the store never issued (acceptUntracked off), or presented for another user', async () => {
    const userId = unique('u');
    const stranger = { userId, sessionId: unique('s'), jti: unique('j'), generation: undefined as unknown as number, expiresAtMs: T0 + DAY };
    expect(await ctx.store.useRefreshToken(present(stranger, T0 + 1000, { generation: undefined }))).toEqual({ status: 'untracked' });
    expect(await ctx.store.findSession(stranger.sessionId)).toBeUndefined();

    const token = await login(ctx.store, userId, T0);
    expect(await ctx.store.useRefreshToken(present({ ...token, userId: unique('u') }, T0 + 1000))).toEqual({ status: 'untracked' });
  });

  it('revoked: after its session was revoked, it was blacklisted, or its user revoked', async () => {
    const userId = unique('u');
    const a = await login(ctx.store, userId, T0);
    await ctx.store.revokeSession(a.sessionId, 'logout', T0 + 10, HORIZON);
    expect(await ctx.store.useRefreshToken(present(a, T0 + 20))).toEqual({ status: 'revoked' });

    const b = await login(ctx.store, userId, T0);
    await ctx.store.blacklistToken({ jti: b.jti, userId, expiresAtMs: b.expiresAtMs }, 'blacklisted', T0 + 10, HORIZON);
    expect(await ctx.store.useRefreshToken(present(b, T0 + 20))).toEqual({ status: 'revoked' });
    expect(await rotate(ctx.store, b, T0 + 30)).toMatchObject({ outcome: { status: 'revoked' } });

    const c = await login(ctx.store, userId, T0);
    await ctx.store.revokeUser(userId, 'revoke_all', T0 + 10, HORIZON);
    expect(await ctx.store.useRefreshToken(present(c, T0 + 20))).toEqual({ status: 'revoked' });
    // A token of the new generation is fine.
    const d = await login(ctx.store, userId, T0 + 30);
    expect(await ctx.store.useRefreshToken(present(d, T0 + 40))).toMatchObject({ status: 'ok', generation: 1 });
  });

  it('expired: past sessionMaxLifetimeMs; before it, the successor is capped at the session end', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const maxMs = 10 * MINUTE;
    const { outcome, next } = await rotate(ctx.store, token, T0 + maxMs - 1, { sessionMaxLifetimeMs: maxMs });
    expect(outcome).toMatchObject({ status: 'ok', sessionEndsAtMs: T0 + maxMs, nextExpiresAtMs: T0 + maxMs });
    expect((await rotate(ctx.store, { ...next, expiresAtMs: T0 + maxMs }, T0 + maxMs, { sessionMaxLifetimeMs: maxMs })).outcome).toEqual({
      status: 'expired',
    });
    expect(await ctx.store.useRefreshToken(present(next, T0 + maxMs + 1, { sessionMaxLifetimeMs: maxMs }))).toEqual({ status: 'expired' });
    // Without the limit the same session goes on.
    expect((await ctx.store.useRefreshToken(present(next, T0 + maxMs + 2))).status).toBe('ok');
  });

  it('reused without grace: revokes the session in the same call, and its live successor with it', async () => {
    const token = await login(ctx.store, unique('u'), T0);
    const { next } = await rotate(ctx.store, token, T0 + 1000);
    const reuse = await rotate(ctx.store, token, T0 + 2000);
    expect(reuse.outcome).toEqual({
      status: 'reused',
      sessionId: token.sessionId,
      sessionRevoked: true,
      revocations: [
        {
          seq: expect.any(Number),
          kind: 'session',
          subject: token.sessionId,
          userId: token.userId,
          atMs: T0 + 2000,
          expiresAtMs: T0 + 2000 + HORIZON,
        },
      ],
    });
    expect(await ctx.store.findSession(token.sessionId)).toMatchObject({ revokedAtMs: T0 + 2000, revokedReason: 'refresh_reuse' });
    expect((await rotate(ctx.store, next, T0 + 3000)).outcome).toEqual({ status: 'revoked' });
    expect((await rotate(ctx.store, token, T0 + 4000)).outcome).toEqual({ status: 'revoked' });
  });

  it('reused with grace: forgives only the immediate predecessor of the live token, within the window', async () => {
    const grace = { reuse: { graceMs: 1000, horizonMs: HORIZON } };
    const a = await login(ctx.store, unique('u'), T0);
    const { next: b } = await rotate(ctx.store, a, T0 + 10_000, grace);
    expect((await rotate(ctx.store, a, T0 + 10_500, grace)).outcome).toEqual({
      status: 'reused',
      sessionId: a.sessionId,
      sessionRevoked: false,
      revocations: [],
    });
    expect((await ctx.store.findSession(a.sessionId))!.revokedAtMs).toBeNull();
    // The successor still works; once it is rotated, `a` is no longer the immediate predecessor.
    const { outcome, next: c } = await rotate(ctx.store, b, T0 + 10_600, grace);
    expect(outcome.status).toBe('ok');
    expect((await rotate(ctx.store, a, T0 + 10_700, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: true });
    expect((await rotate(ctx.store, c, T0 + 10_800, grace)).outcome).toEqual({ status: 'revoked' });

    // Past the window (graceMs is inclusive), the immediate predecessor revokes the session too.
    const x = await login(ctx.store, unique('u'), T0);
    await rotate(ctx.store, x, T0 + 20_000, grace);
    expect((await rotate(ctx.store, x, T0 + 21_000, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: false });
    expect((await rotate(ctx.store, x, T0 + 21_001, grace)).outcome).toMatchObject({ status: 'reused', sessionRevoked: true });
  });

  it('acceptUntracked adopts a token signed elsewhere: a session of its own, tracked from then on', async () => {
    const userId = unique('u');
    const jti = unique('foreign');
    const foreign = { userId, jti, sessionId: jti, generation: undefined as unknown as number, expiresAtMs: T0 + DAY };
    const first = await ctx.store.useRefreshToken(
      present(foreign, T0 + 1000, { generation: undefined, issuedAtMs: T0, acceptUntracked: true }),
    );
    expect(first).toMatchObject({ status: 'ok', generation: 0, revocations: [] });
    expect(await ctx.store.findSession(jti)).toMatchObject({ id: jti, userId, generation: 0, createdAtMs: T0, revokedAtMs: null });
    // Tracked now: accepted without acceptUntracked, and single-use under rotation like any other.
    const tracked = { ...foreign, generation: 0 };
    expect((await ctx.store.useRefreshToken(present(foreign, T0 + 2000, { generation: undefined, issuedAtMs: T0 }))).status).toBe('ok');
    expect((await rotate(ctx.store, tracked, T0 + 3000, { generation: undefined, issuedAtMs: T0 })).outcome.status).toBe('ok');
    expect((await rotate(ctx.store, tracked, T0 + 4000, { generation: undefined, issuedAtMs: T0 })).outcome).toMatchObject({
      status: 'reused',
      sessionRevoked: true,
    });

    // Adopted and rotated in one call.
    const other = unique('foreign');
    const adoptedAndRotated = await rotate(
      ctx.store,
      { userId, jti: other, sessionId: other, generation: 0, expiresAtMs: T0 + DAY },
      T0 + 5000,
      { generation: undefined, issuedAtMs: T0, acceptUntracked: true },
    );
    expect(adoptedAndRotated.outcome).toMatchObject({ status: 'ok', revocations: [{ kind: 'token', subject: other }] });
  });

  it("refuses to adopt a token issued at or before the user's last revoke-all (whole seconds, fail closed)", async () => {
    const userId = unique('u');
    await ctx.store.revokeUser(userId, 'revoke_all', T0 + 5400, HORIZON);
    const adopt = (issuedAtMs: number) => {
      const jti = unique('foreign');
      return ctx.store.useRefreshToken(
        present({ userId, jti, sessionId: jti, generation: 0, expiresAtMs: T0 + DAY }, T0 + 7000, {
          generation: undefined,
          issuedAtMs,
          acceptUntracked: true,
        }),
      );
    };
    expect(await adopt(T0 + 2000)).toEqual({ status: 'revoked' });
    expect(await adopt(T0 + 5000)).toEqual({ status: 'revoked' }); // the same second as the revoke-all
    expect(await adopt(T0 + 6000)).toMatchObject({ status: 'ok', generation: 1 });

    // Refused once, refused for good: the row it left behind carries the old generation.
    const jti = unique('foreign');
    const atRevoke = present({ userId, jti, sessionId: jti, generation: 0, expiresAtMs: T0 + DAY }, T0 + 7000, {
      generation: undefined,
      issuedAtMs: T0 + 5000,
      acceptUntracked: true,
    });
    expect(await ctx.store.useRefreshToken(atRevoke)).toEqual({ status: 'revoked' });
    expect(await ctx.store.useRefreshToken({ ...atRevoke, nowMs: T0 + 8000 })).toEqual({ status: 'revoked' });
  });
}
