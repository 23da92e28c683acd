import { createHmac, randomUUID } from 'node:crypto';

/**
 * Signs a token the way PyJWT does for Simple JWT (HS256, compact JSON, key as UTF-8 bytes), without
 * our library: what a Django deployment hands out.
 */
export function signLikeSimpleJwt(payload: Record<string, unknown>, key: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  const signature = createHmac('sha256', Buffer.from(key, 'utf8')).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/** Simple JWT's claims for a token of `type`, issued at `nowSeconds`. */
export function simpleJwtClaims(type: 'access' | 'refresh', userId: number, nowSeconds: number, lifetime = 300) {
  return {
    token_type: type,
    exp: nowSeconds + lifetime,
    iat: nowSeconds,
    jti: randomUUID().replaceAll('-', ''),
    user_id: userId,
  };
}

/** Checks an HS256 signature with node:crypto alone. */
export function hasValidHs256Signature(token: string, key: string): boolean {
  const [header, payload, signature] = token.split('.');
  const expected = createHmac('sha256', Buffer.from(key, 'utf8')).update(`${header}.${payload}`).digest('base64url');
  return expected === signature;
}
