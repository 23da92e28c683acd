import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { SettingsError } from '../src/errors.ts';
import type { Algorithm } from '../src/settings/settings.ts';
import { decodePayload, testAuth } from './helpers.ts';

/**
 * Simple JWT interoperability, both ways, for every algorithm: tokens PyJWT signed (committed fixtures)
 * verify in revocable, and tokens revocable mints verify in PyJWT (Debian's python3-jwt, the version the
 * wire contract was observed with).
 */

const FIXTURES = join(import.meta.dirname, 'fixtures', 'interop');
const HMAC_KEY = 'interop-signing-key-of-at-least-64-bytes-for-hs512-0123456789abcdef';
const pem = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const KEYS: Record<string, { signingKey: string; verifyingKey?: string }> = {
  HS256: { signingKey: HMAC_KEY },
  HS384: { signingKey: HMAC_KEY },
  HS512: { signingKey: HMAC_KEY },
  RS256: { signingKey: pem('rsa.key'), verifyingKey: pem('rsa.pub') },
  PS256: { signingKey: pem('rsa.key'), verifyingKey: pem('rsa.pub') },
  ES256: { signingKey: pem('ec256.key'), verifyingKey: pem('ec256.pub') },
  ES384: { signingKey: pem('ec384.key'), verifyingKey: pem('ec384.pub') },
  EdDSA: { signingKey: pem('ed25519.key'), verifyingKey: pem('ed25519.pub') },
};
const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'pyjwt-tokens.json'), 'utf8')) as {
  pyjwt: string;
  tokens: { algorithm: string; type: 'access' | 'refresh'; token: string }[];
};

const PYTHON = '/usr/bin/python3';
const pyjwtVersion = (() => {
  try {
    return execFileSync(PYTHON, ['-c', 'import jwt, cryptography; print(jwt.__version__)'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
})();
if (!pyjwtVersion) console.warn('interop: PyJWT (Debian python3-jwt) NOT AVAILABLE at /usr/bin/python3 — the revocable → PyJWT direction is skipped');
if (process.env.REVOCABLE_REQUIRE_STORES === '1') {
  it('has PyJWT to verify with (REVOCABLE_REQUIRE_STORES=1)', () => expect(pyjwtVersion).toBeDefined());
}

const opened: Auth[] = [];
afterAll(async () => {
  for (const auth of opened) await auth.close();
});

async function authFor(algorithm: string) {
  const auth = await testAuth({
    settings: { algorithm: algorithm as Algorithm, ...KEYS[algorithm], acceptUntrackedRefreshTokens: true },
  });
  opened.push(auth);
  await auth.users.create({ username: 'alice', password: 'pw' });
  return auth;
}

describe(`tokens signed by PyJWT ${fixtures.pyjwt}, as Simple JWT signs them`, () => {
  it.each(Object.keys(KEYS))('%s: the access token verifies and the refresh token refreshes', async (algorithm) => {
    const auth = await authFor(algorithm);
    const access = fixtures.tokens.find((t) => t.algorithm === algorithm && t.type === 'access')!.token;
    const refresh = fixtures.tokens.find((t) => t.algorithm === algorithm && t.type === 'refresh')!.token;
    expect(auth.verifyAccess(access)).toMatchObject({ token_type: 'access', user_id: 1 });
    const refreshed = await auth.refresh(refresh);
    expect(auth.verifyAccess(refreshed.access)).toMatchObject({ user_id: 1 });
    // The adopted token's session ends with it.
    await auth.blacklist(refresh);
    expect(() => auth.verifyAccess(refreshed.access)).toThrow('Token is blacklisted');
  });
});

describe.skipIf(!pyjwtVersion)(`tokens minted by revocable, verified by PyJWT ${pyjwtVersion ?? ''}`, () => {
  it('verify for every algorithm, with the header and claims Simple JWT reads', async () => {
    const minted: { algorithm: string; token: string }[] = [];
    for (const algorithm of Object.keys(KEYS)) {
      const auth = await testAuth({ settings: { algorithm: algorithm as Algorithm, ...KEYS[algorithm] } });
      opened.push(auth);
      const alice = await auth.users.create({ username: 'alice', password: 'pw' });
      const pair = await auth.issueTokens(alice);
      minted.push({ algorithm, token: pair.access }, { algorithm, token: pair.refresh });
    }
    const output = execFileSync(PYTHON, [join(FIXTURES, 'verify_with_pyjwt.py')], { input: JSON.stringify(minted) }).toString();
    const results = JSON.parse(output) as { ok: boolean; payload?: Record<string, unknown>; header?: Record<string, unknown>; error?: string }[];
    expect(results.map((result) => result.error ?? 'ok')).toEqual(minted.map(() => 'ok'));
    results.forEach((result, index) => {
      const { algorithm, token } = minted[index]!;
      // Asymmetric tokens name their key; HMAC ones keep Simple JWT's bare header.
      expect(result.header).toEqual(
        algorithm.startsWith('HS') ? { alg: algorithm, typ: 'JWT' } : { alg: algorithm, typ: 'JWT', kid: expect.any(String) },
      );
      expect(result.payload).toEqual(decodePayload(token));
      expect(result.payload).toMatchObject({ user_id: 1, jti: expect.stringMatching(/^[0-9a-f]{32}$/) });
    });
  }, 60_000);
});

describe('keys that do not fit the algorithm', () => {
  it.each([
    ['ES256', { signingKey: pem('rsa.key'), verifyingKey: pem('rsa.pub') }, 'signingKey'],
    ['EdDSA', { signingKey: pem('ec256.key'), verifyingKey: pem('ec256.pub') }, 'signingKey'],
    ['RS256', { signingKey: pem('rsa.key'), verifyingKey: pem('ec256.pub') }, 'verifyingKey'],
    ['ES384', { signingKey: pem('ec256.key'), verifyingKey: pem('ec256.pub') }, 'signingKey'],
  ])('%s with the wrong key is refused at start-up, naming the setting', async (algorithm, keys, setting) => {
    const attempt = testAuth({ settings: { algorithm: algorithm as Algorithm, ...keys } });
    await expect(attempt).rejects.toBeInstanceOf(SettingsError);
    await expect(attempt).rejects.toMatchObject({ setting });
  });

  it('a verifying key that does not match the signing key is refused at start-up', async () => {
    const other = execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519']).toString();
    const otherPublic = execFileSync('openssl', ['pkey', '-pubout'], { input: other }).toString();
    const attempt = testAuth({ settings: { algorithm: 'EdDSA', signingKey: pem('ed25519.key'), verifyingKey: otherPublic } });
    await expect(attempt).rejects.toMatchObject({ setting: 'verifyingKey' });
  });
});
