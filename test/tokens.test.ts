import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { TokenError } from '../src/errors.ts';
import type { User } from '../src/users/users.ts';
import { SIGNING_KEY, clockAt, decodePayload, testAuth } from './helpers.ts';
import { hasValidHs256Signature, signLikeSimpleJwt, simpleJwtClaims } from './support/foreign-token.ts';

const clock = clockAt(250);
const nowSeconds = () => Math.floor(clock() / 1000);

function expectTokenError(run: () => unknown, message: string) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TokenError);
  expect((caught as TokenError).detail).toBe(message);
}

describe('tokens', () => {
  let auth: Auth;
  let alice: User;
  beforeAll(async () => {
    auth = await testAuth({ clock });
    alice = await auth.users.create({ username: 'alice', password: 'correct horse' });
  });
  afterAll(() => auth.close());

  it("carries Simple JWT's claims, a session id and the minting time as iat", async () => {
    const { access, refresh } = await auth.issueTokens(alice);
    const header = JSON.parse(Buffer.from(access.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodePayload(access);
    expect(Object.keys(claims).slice(0, 5)).toEqual(['token_type', 'exp', 'iat', 'jti', 'user_id']);
    expect(claims).toMatchObject({ token_type: 'access', iat: nowSeconds(), exp: nowSeconds() + 300, user_id: alice.id });
    expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
    const refreshClaims = decodePayload(refresh);
    expect(refreshClaims).toMatchObject({ token_type: 'refresh', exp: nowSeconds() + 86400, sid: claims.sid });
    expect(refreshClaims.jti).not.toBe(claims.jti);
  });

  it('signs with the key as UTF-8 bytes: node:crypto HMAC verifies our tokens', async () => {
    const { access } = await auth.issueTokens(alice);
    expect(hasValidHs256Signature(access, SIGNING_KEY)).toBe(true);
  });

  it('accepts an access token minted by Simple JWT with the same key (no session id)', () => {
    const token = signLikeSimpleJwt(simpleJwtClaims('access', alice.id, nowSeconds()), SIGNING_KEY);
    expect(auth.verifyAccess(token)).toMatchObject({ user_id: alice.id, token_type: 'access' });
  });

  it('refuses what Simple JWT refuses, with its messages', () => {
    const claims = simpleJwtClaims('access', alice.id, nowSeconds());
    const invalid = 'Token is invalid or expired';
    expectTokenError(() => auth.verifyAccess('garbage'), invalid);
    expectTokenError(() => auth.verifyAccess(''), invalid);
    expectTokenError(() => auth.verifyAccess(signLikeSimpleJwt(claims, 'another-key-of-at-least-32-bytes!!')), invalid);
    expectTokenError(
      () => auth.verifyAccess(signLikeSimpleJwt(claims, SIGNING_KEY, { alg: 'none', typ: 'JWT' }).replace(/\.[^.]+$/, '.')),
      invalid,
    );
    expectTokenError(() => auth.verifyAccess(signLikeSimpleJwt({ ...claims, exp: nowSeconds() - 1 }, SIGNING_KEY)), invalid);
    const genuine = signLikeSimpleJwt(claims, SIGNING_KEY);
    const tampered = genuine.split('.');
    tampered[1] = Buffer.from(JSON.stringify({ ...claims, user_id: 999 })).toString('base64url');
    expectTokenError(() => auth.verifyAccess(tampered.join('.')), invalid);
    const { exp: _exp, ...noExp } = claims;
    expectTokenError(() => auth.verifyAccess(signLikeSimpleJwt(noExp, SIGNING_KEY)), "Token has no 'exp' claim");
    const { jti: _jti, ...noJti } = claims;
    expectTokenError(() => auth.verifyAccess(signLikeSimpleJwt(noJti, SIGNING_KEY)), 'Token has no id');
    const { token_type: _type, ...noType } = claims;
    expectTokenError(() => auth.verifyAccess(signLikeSimpleJwt(noType, SIGNING_KEY)), 'Token has no type');
    expectTokenError(
      () => auth.verifyAccess(signLikeSimpleJwt({ ...claims, token_type: 'refresh' }, SIGNING_KEY)),
      'Token has wrong type',
    );
    expectTokenError(() => auth.verifyAccess('a'.repeat(10_000)), invalid);
  });

  it('expires on the injected clock, exactly at exp', async () => {
    const local = clockAt(0);
    const expiring = await testAuth({ clock: local });
    const user = await expiring.users.create({ username: 'bob', password: 'pw' });
    const { access } = await expiring.issueTokens(user);
    local.advance(299_999);
    expect(() => expiring.verifyAccess(access)).not.toThrow();
    local.advance(1);
    expectTokenError(() => expiring.verifyAccess(access), 'Token is invalid or expired');
    await expiring.close();
  });

  it('refuses a refresh token signed with our key but never issued, unless configured to adopt it', async () => {
    const foreign = signLikeSimpleJwt(simpleJwtClaims('refresh', alice.id, nowSeconds(), 86400), SIGNING_KEY);
    await expect(auth.refresh(foreign)).rejects.toMatchObject({ detail: 'Token is invalid or expired' });

    const adopting = await testAuth({ clock, settings: { acceptUntrackedRefreshTokens: true } });
    const bob = await adopting.users.create({ username: 'bob', password: 'pw' });
    const fromDjango = signLikeSimpleJwt(simpleJwtClaims('refresh', bob.id, nowSeconds(), 86400), SIGNING_KEY);
    const { access } = await adopting.refresh(fromDjango);
    // The adopted token's own jti becomes its session: blacklisting it ends the access tokens minted from it.
    expect(decodePayload(access).sid).toBe(decodePayload(fromDjango).jti);
    expect(() => adopting.verifyAccess(access)).not.toThrow();
    await adopting.blacklist(fromDjango);
    expectTokenError(() => adopting.verifyAccess(access), 'Token is blacklisted');
    await adopting.close();
  });
});
