import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The floor to compare against: HS256 verification with nothing but `node:crypto`. Split the token,
 * HMAC `header.payload`, compare with the decoded signature in constant time, parse the payload and
 * check `exp`. No algorithm pinning, no claim checks, no revocation.
 */
export function createRawHs256Verifier(key: string): (token: string) => Record<string, unknown> {
  const keyBytes = Buffer.from(key, 'utf8');
  return (token) => {
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) throw new Error('malformed token');
    const expected = createHmac('sha256', keyBytes).update(token.slice(0, second)).digest();
    const actual = Buffer.from(token.slice(second + 1), 'base64url');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new Error('bad signature');
    const payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
    if (typeof payload.exp !== 'number' || Date.now() / 1000 >= payload.exp) throw new Error('expired');
    return payload;
  };
}
