import { createPublicKey, constants, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Algorithm } from '../../src/settings/settings.ts';
import { testServer } from '../helpers.ts';

/** `GET /.well-known/jwks.json`: the public key, named by its RFC 7638 thumbprint, verifies the tokens. */

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'interop');
const pem = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const KEYS: Record<string, [string, string]> = {
  RS256: ['rsa.key', 'rsa.pub'],
  PS256: ['rsa.key', 'rsa.pub'],
  ES256: ['ec256.key', 'ec256.pub'],
  ES384: ['ec384.key', 'ec384.pub'],
  EdDSA: ['ed25519.key', 'ed25519.pub'],
};

/** Verifies a JWS with a JWK and node:crypto alone. */
function verifiesWith(jwk: Record<string, string>, token: string, algorithm: string): boolean {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const cut = token.lastIndexOf('.');
  const input = Buffer.from(token.slice(0, cut));
  const signature = Buffer.from(token.slice(cut + 1), 'base64url');
  if (algorithm === 'EdDSA') return verify(null, input, key, signature);
  const hash = `sha${algorithm.slice(2)}`;
  if (algorithm.startsWith('ES')) return verify(hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (algorithm.startsWith('PS')) {
    return verify(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  }
  return verify(hash, input, key, signature);
}

describe('JWKS', () => {
  it.each(Object.keys(KEYS))('%s: the published key has the kid of the tokens and verifies them', async (algorithm) => {
    const [privateFile, publicFile] = KEYS[algorithm]!;
    const { app, auth } = await testServer({
      settings: { algorithm: algorithm as Algorithm, signingKey: pem(privateFile), verifyingKey: pem(publicFile) },
    });
    const pair = await auth.issueTokens(await auth.users.create({ username: 'alice', password: 'pw' }));
    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const { keys } = res.json() as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    const [jwk] = keys as [Record<string, string>];
    expect(jwk).toMatchObject({ alg: algorithm, use: 'sig', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(jwk).not.toHaveProperty('d');
    const header = JSON.parse(Buffer.from(pair.access.split('.')[0]!, 'base64url').toString());
    expect(header.kid).toBe(jwk.kid);
    expect(verifiesWith(jwk, pair.access, algorithm)).toBe(true);
    expect(verifiesWith(jwk, pair.refresh, algorithm)).toBe(true);
    await app.close();
    await auth.close();
  });

  it('publishes no key for HMAC: a shared secret is never published', async () => {
    const { app, auth } = await testServer();
    expect((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()).toEqual({ keys: [] });
    await app.close();
    await auth.close();
  });
});
