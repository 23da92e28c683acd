import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGNING_KEY, decodePayload, testAuth } from './helpers.ts';

/** `accessTokenTyp` (RFC 9068): explicit typing, so a token cannot pass for another by its header either. */

const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());

/** The same claims, signed again under another header `typ`. */
function resigned(token: string, typ: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'HS256', typ })}.${encode(decodePayload(token))}`;
  return `${input}.${createHmac('sha256', SIGNING_KEY).update(input).digest('base64url')}`;
}

describe('accessTokenTyp', () => {
  it('is "JWT" by default: every header is {"alg":"HS256","typ":"JWT"}, as Simple JWT writes it', async () => {
    const auth = await testAuth();
    const pair = await auth.issueTokens(await auth.users.create({ username: 'alice', password: 'pw' }));
    expect(header(pair.access)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(header(pair.refresh)).toEqual({ alg: 'HS256', typ: 'JWT' });
    await auth.close();
  });

  it('"at+jwt": access tokens carry it and must; other tokens must not', async () => {
    const auth = await testAuth({ settings: { accessTokenTyp: 'at+jwt', rotateRefreshTokens: true } });
    const pair = await auth.issueTokens(await auth.users.create({ username: 'alice', password: 'pw' }));
    expect(header(pair.access)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect(header(pair.refresh)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(auth.verifyAccess(pair.access)).toMatchObject({ token_type: 'access' });
    // "application/at+jwt" is the same type (RFC 9068 §2.1).
    expect(() => auth.verifyAccess(resigned(pair.access, 'application/at+jwt'))).not.toThrow();
    // An access token without the type, or a refresh token with it, is refused.
    expect(() => auth.verifyAccess(resigned(pair.access, 'JWT'))).toThrow('Token has wrong type');
    await expect(auth.refresh(resigned(pair.refresh, 'at+jwt'))).rejects.toMatchObject({ detail: 'Token has wrong type' });
    const refreshed = await auth.refresh(pair.refresh);
    expect(header(refreshed.access).typ).toBe('at+jwt');
    await auth.close();
  });
});
