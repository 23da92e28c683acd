import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SettingsError, TokenError } from '../../src/errors.ts';
import { generateKeyMaterial } from '../../src/keys/generate.ts';
import { createResourceServer } from '../../src/resource/resource-server.ts';
import type { SettingsInput } from '../../src/settings/settings.ts';
import { SIGNING_KEY } from '../helpers.ts';
import { eventually, freePort } from '../support/processes.ts';
import {
  type AsymmetricAlgorithm,
  KEY_PAIRS,
  SILENT,
  acceptsNow,
  asymmetricSettings,
  headerOf,
  jwksServer,
  plainServer,
  rejection,
  resourceServer,
  signAccess,
  sleep,
  startAuthServer,
  thrown,
  tokenWithKid,
  useCleanup,
} from './support.ts';

/**
 * A resource server's keys: a shared secret, a public key, or the auth server's JWKS fetched over
 * HTTP, refetched when a token names a key it has not seen (at most once per cooldown), so that keys
 * rotate without downtime.
 */

const defer = useCleanup();

async function authServer(settings: Partial<SettingsInput>) {
  const server = await startAuthServer({ settings });
  defer(() => server.stop());
  const user = await server.auth.users.create({ username: 'alice', password: 'pw' });
  return { ...server, issue: async () => (await server.auth.issueTokens(user)).access };
}

async function jwksResourceServer(jwkUrl: string, algorithm: AsymmetricAlgorithm, jwks: { cooldownMs?: number; refreshIntervalMs?: number; timeoutMs?: number } = {}) {
  const server = await resourceServer({
    settings: { algorithm, jwkUrl },
    revocations: 'none',
    jwks: { cooldownMs: 60_000, refreshIntervalMs: 3_600_000, ...jwks },
  });
  defer(() => server.close());
  return server;
}

describe('key rotation without downtime', () => {
  it('tokens signed before a rotation keep working on a resource server that fetched the JWKS before it; new tokens work too', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const before = await auth.issue();
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256');
    expect(server.jwks!.fetches).toBe(1);
    expect((await server.verify(before)).user_id).toBe(1);

    const rotation = await auth.auth.keys.rotate({ delayMs: 0 });
    const after = await auth.issue();
    expect(headerOf(after).kid).toBe(rotation.activated.kid);
    expect(headerOf(after).kid).not.toBe(headerOf(before).kid);

    // The new key is unknown to the resource server: one refetch finds it.
    expect((await server.verify(after)).user_id).toBe(1);
    expect(server.jwks!.fetches).toBe(2);
    // The old key is still in the set: its tokens pass, with no further fetch.
    expect((await server.verify(before)).user_id).toBe(1);
    expect((await server.verify(after)).user_id).toBe(1);
    expect(server.jwks!.fetches).toBe(2);
    // And through the header authentication the adapters use.
    expect((await server.authenticate({ authorization: `Bearer ${before}` })).user.id).toBe(1);
    expect((await server.authenticate({ authorization: `Bearer ${after}` })).user.id).toBe(1);
  });

  it('a key generated (standby) before the resource server started is already known when it starts signing', async () => {
    const auth = await authServer(asymmetricSettings('EdDSA'));
    const standby = await auth.auth.keys.generate('EdDSA');
    const server = await jwksResourceServer(auth.jwkUrl, 'EdDSA');
    const before = await auth.issue();
    await auth.auth.keys.rotate({ delayMs: 0 });
    const after = await auth.issue();
    expect(headerOf(after).kid).toBe(standby.kid);
    expect(await acceptsNow(server, before)).toBe(true);
    expect(await acceptsNow(server, after)).toBe(true);
    expect(server.jwks!.fetches).toBe(1);
  });

  it('the periodic refetch after a rotation keeps the retiring key: old tokens still pass', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const before = await auth.issue();
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256', { refreshIntervalMs: 50 });
    await auth.auth.keys.rotate({ delayMs: 0 });
    const after = await auth.issue();
    const fetched = server.jwks!.fetches;
    expect(await eventually(() => server.jwks!.fetches >= fetched + 2, 20_000)).toBe(true);
    // The timer found the new key by itself: no refetch is needed for its tokens.
    expect(server.verifySync(after).user_id).toBe(1);
    expect(server.verifySync(before).user_id).toBe(1);
  });

  it('verifySync refuses a token of a key not fetched yet, starts the fetch, then accepts it', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256');
    await auth.auth.keys.rotate({ delayMs: 0 });
    const after = await auth.issue();
    expect(thrown(() => server.verifySync(after))).toBeInstanceOf(TokenError);
    expect(
      await eventually(() => {
        try {
          return server.verifySync(after).user_id === 1;
        } catch {
          return false;
        }
      }, 20_000),
    ).toBe(true);
    expect(server.jwks!.fetches).toBe(2);
  });
});

describe('a token naming an unknown kid', () => {
  it('triggers at most one refetch per cooldown: garbage kids twice within it refetch once', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256', { cooldownMs: 60_000 });
    expect(server.jwks!.fetches).toBe(1);
    const first = await rejection(server.verify(tokenWithKid('made-up-1')));
    expect(first).toBeInstanceOf(TokenError);
    expect((first as TokenError).detail).toBe('Token is invalid or expired');
    expect(server.jwks!.fetches).toBe(2);
    expect(await rejection(server.verify(tokenWithKid('made-up-2')))).toBeInstanceOf(TokenError);
    expect(await rejection(server.verify(tokenWithKid('made-up-1')))).toBeInstanceOf(TokenError);
    expect(thrown(() => server.verifySync(tokenWithKid('made-up-3')))).toBeInstanceOf(TokenError);
    expect(await rejection(server.authenticate({ authorization: `Bearer ${tokenWithKid('made-up-4')}` }))).toMatchObject({
      code: 'token_not_valid',
    });
    expect(server.jwks!.fetches).toBe(2);
    // Valid tokens are unaffected meanwhile.
    expect(await acceptsNow(server, await auth.issue())).toBe(true);
  });

  it('refetches again once the cooldown has passed', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256', { cooldownMs: 200 });
    await rejection(server.verify(tokenWithKid('made-up-1')));
    expect(server.jwks!.fetches).toBe(2);
    await sleep(400);
    await rejection(server.verify(tokenWithKid('made-up-2')));
    expect(server.jwks!.fetches).toBe(3);
    await sleep(400);
    await rejection(server.verify(tokenWithKid('made-up-3')));
    expect(server.jwks!.fetches).toBe(4);
  });

  it('concurrent tokens with unknown kids share one fetch', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256', { cooldownMs: 60_000 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => server.verify(tokenWithKid(`made-up-${i}`))));
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(server.jwks!.fetches).toBe(2);
  });

  it('a known kid with a bad signature is refused without a refetch', async () => {
    const auth = await authServer(asymmetricSettings('ES256'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES256', { cooldownMs: 0 });
    const token = await auth.issue();
    const forged = signAccess(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'ES256', {
      kid: headerOf(token).kid as string,
    });
    expect(await rejection(server.verify(forged))).toBeInstanceOf(TokenError);
    expect(server.jwks!.fetches).toBe(1);
  });

  it('a refetch that fails leaves the keys already fetched in use', async () => {
    const pair = KEY_PAIRS.ES256;
    const jwks = await jwksServer({ keys: [] });
    defer(() => jwks.close());
    const publicJwk = { ...createPublicKey(pair.publicKey).export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks.publish({ keys: [publicJwk] });
    const server = await jwksResourceServer(jwks.jwkUrl, 'ES256', { cooldownMs: 0 });
    const token = signAccess(pair.privateKey, 'ES256', { kid: 'k1' });
    expect(await acceptsNow(server, token)).toBe(true);
    jwks.publish('not a key set');
    expect(await rejection(server.verify(tokenWithKid('made-up')))).toBeInstanceOf(TokenError);
    expect(server.jwks!.fetches).toBe(2);
    expect(await acceptsNow(server, token)).toBe(true);
  });
});

describe('every asymmetric algorithm: signed on the auth server, verified on a resource server through its JWKS', () => {
  it.each(Object.keys(KEY_PAIRS) as AsymmetricAlgorithm[])('%s', async (algorithm) => {
    const auth = await authServer(asymmetricSettings(algorithm));
    const token = await auth.issue();
    const { refresh } = await auth.auth.issueTokens((await auth.auth.users.findByUsername('alice'))!);
    const server = await jwksResourceServer(auth.jwkUrl, algorithm);
    const claims = await server.verify(token);
    expect(claims).toMatchObject({ user_id: 1, token_type: 'access' });
    expect(server.verifySync(token).user_id).toBe(1);
    const principal = await server.authenticate({ authorization: `Bearer ${token}` });
    expect(principal.user).toMatchObject({ id: 1, isActive: true });
    // A refresh token is not an access token; a token of another key of the same algorithm is refused.
    expect((await rejection(server.verify(refresh))) as TokenError).toMatchObject({ detail: 'Token has wrong type' });
    const kid = headerOf(token).kid as string;
    const otherKey = signAccess(generateKeyMaterial(algorithm).privateKey, algorithm, { kid });
    expect(await rejection(server.verify(otherKey))).toBeInstanceOf(TokenError);
    const otherAlgorithm = algorithm === 'ES256' ? 'ES384' : 'ES256';
    expect(await rejection(server.verify(signAccess(KEY_PAIRS[otherAlgorithm].privateKey, otherAlgorithm, { kid })))).toBeInstanceOf(TokenError);
    expect(server.jwks!.fetches).toBe(1);
  });

  it.each(Object.keys(KEY_PAIRS) as AsymmetricAlgorithm[])('%s with verifyingKey (PEM, then JWK) instead of jwkUrl', async (algorithm) => {
    const auth = await authServer(asymmetricSettings(algorithm));
    const token = await auth.issue();
    const pem = KEY_PAIRS[algorithm].publicKey;
    const jwk = JSON.stringify((await fetch(auth.jwkUrl).then((res) => res.json()) as { keys: unknown[] }).keys[0]);
    for (const verifyingKey of [pem, jwk]) {
      const server = await resourceServer({ settings: { algorithm, verifyingKey }, revocations: 'none' });
      defer(() => server.close());
      expect(server.jwks).toBeUndefined();
      expect((await server.verify(token)).user_id).toBe(1);
      // A token signed without a kid by the same key (a Simple JWT peer's) is matched by algorithm.
      expect((await server.verify(signAccess(KEY_PAIRS[algorithm].privateKey, algorithm))).user_id).toBe(1);
    }
  });
});

describe('HS256: the shared secret', () => {
  it('a resource server with the auth server secret verifies its tokens; another secret does not', async () => {
    const auth = await authServer({});
    const token = await auth.issue();
    const server = await resourceServer({ settings: { signingKey: SIGNING_KEY }, revocations: 'none' });
    defer(() => server.close());
    expect(server.jwks).toBeUndefined();
    expect((await server.verify(token)).user_id).toBe(1);
    expect((await server.authenticate({ authorization: `Bearer ${token}` })).user.id).toBe(1);

    const stranger = await resourceServer({ settings: { signingKey: 'another-signing-key-of-at-least-32-bytes' }, revocations: 'none' });
    defer(() => stranger.close());
    expect(await rejection(stranger.verify(token))).toBeInstanceOf(TokenError);
  });

  it('an HS256 token signed with the public key as its secret is refused by an RS256 resource server (no algorithm confusion)', async () => {
    const pem = KEY_PAIRS.RS256.publicKey;
    const server = await resourceServer({ settings: { algorithm: 'RS256', verifyingKey: pem }, revocations: 'none' });
    defer(() => server.close());
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(JSON.stringify({ token_type: 'access', exp: now + 300, iat: now, jti: 'j', user_id: 1 })).toString('base64url');
    const signature = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
    expect(await rejection(server.verify(`${header}.${payload}.${signature}`))).toBeInstanceOf(TokenError);
  });
});

describe('what a JWKS publishes that is not trusted', () => {
  const publicJwk = (pem: string, extra: Record<string, unknown>) => ({ ...createPublicKey(pem).export({ format: 'jwk' }), ...extra });

  it('a symmetric (oct) key is never used', async () => {
    const secret = 'a-shared-secret-published-by-mistake!!';
    const jwks = await jwksServer({
      keys: [
        { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'shared', alg: 'HS256' },
        { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'shared-rs', alg: 'RS256' },
        publicJwk(KEY_PAIRS.RS256.publicKey, { kid: 'rsa', alg: 'RS256', use: 'sig' }),
      ],
    });
    defer(() => jwks.close());
    const server = await jwksResourceServer(jwks.jwkUrl, 'RS256', { cooldownMs: 0 });
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.RS256.privateKey, 'RS256', { kid: 'rsa' }))).toBe(true);
    for (const kid of ['shared', 'shared-rs']) {
      expect(await acceptsNow(server, signAccess(secret, 'HS256', { kid }))).toBe(false);
    }
  });

  it('a private key (a JWK with "d") is never used, even when its tokens name it', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid: 'leaked', alg: 'ES256', use: 'sig' };
    const jwks = await jwksServer({ keys: [privateJwk, publicJwk(KEY_PAIRS.ES256.publicKey, { kid: 'good', alg: 'ES256' })] });
    defer(() => jwks.close());
    const server = await jwksResourceServer(jwks.jwkUrl, 'ES256', { cooldownMs: 0 });
    const leaked = signAccess(createPrivateKey({ key: privateJwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string, 'ES256', {
      kid: 'leaked',
    });
    expect(await acceptsNow(server, leaked)).toBe(false);
    // It was looked for again (the kid is unknown) and still not trusted.
    expect(server.jwks!.fetches).toBe(2);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.ES256.privateKey, 'ES256', { kid: 'good' }))).toBe(true);
  });

  it('a key of another algorithm, or for encryption, is ignored; a key without "alg" of the right type is used', async () => {
    const jwks = await jwksServer({
      keys: [
        publicJwk(KEY_PAIRS.ES256.publicKey, { kid: 'ec', alg: 'ES256', use: 'sig' }),
        publicJwk(KEY_PAIRS.ES256.publicKey, { kid: 'ec-no-alg' }),
        publicJwk(KEY_PAIRS.RS256.publicKey, { kid: 'rsa-ps', alg: 'PS256' }),
        publicJwk(KEY_PAIRS.RS256.publicKey, { kid: 'rsa-enc', alg: 'RS256', use: 'enc' }),
        publicJwk(KEY_PAIRS.RS256.publicKey, { kid: 'rsa-no-alg' }),
        { kty: 'RSA', kid: 'broken', n: 'AQAB' },
        'not a key',
        null,
      ],
    });
    defer(() => jwks.close());
    const server = await jwksResourceServer(jwks.jwkUrl, 'RS256', { cooldownMs: 0 });
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.ES256.privateKey, 'ES256', { kid: 'ec' }))).toBe(false);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.ES256.privateKey, 'ES256', { kid: 'ec-no-alg' }))).toBe(false);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.RS256.privateKey, 'PS256', { kid: 'rsa-ps' }))).toBe(false);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.RS256.privateKey, 'RS256', { kid: 'rsa-ps' }))).toBe(false);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.RS256.privateKey, 'RS256', { kid: 'rsa-enc' }))).toBe(false);
    expect(await acceptsNow(server, signAccess(KEY_PAIRS.RS256.privateKey, 'RS256', { kid: 'rsa-no-alg' }))).toBe(true);
  });
});

describe('start-up', () => {
  it('refuses jwkUrl for an HMAC algorithm (a JWKS never publishes a shared secret)', async () => {
    const error = await rejection(createResourceServer({ settings: { algorithm: 'HS256', jwkUrl: 'http://127.0.0.1:1/jwks.json' }, revocations: 'none' }));
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).setting).toBe('jwkUrl');
  });

  it('refuses a jwkUrl that is not http(s)', async () => {
    const error = await rejection(createResourceServer({ settings: { algorithm: 'RS256', jwkUrl: 'file:///etc/passwd' }, revocations: 'none' }));
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).setting).toBe('jwkUrl');
  });

  it.each([
    ['ES256', KEY_PAIRS.RS256.publicKey],
    ['ES384', KEY_PAIRS.ES256.publicKey],
    ['RS256', KEY_PAIRS.EdDSA.publicKey],
    ['EdDSA', KEY_PAIRS.ES256.publicKey],
    ['RS256', 'not a key'],
    ['RS256', ''],
  ] as const)('refuses a %s verifyingKey of the wrong type (%#), naming verifyingKey', async (algorithm, verifyingKey) => {
    const error = await rejection(createResourceServer({ settings: { algorithm, verifyingKey }, revocations: 'none' }));
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).setting).toBe('verifyingKey');
    expect(error.message).toContain('verifyingKey');
  });

  it('refuses an HMAC algorithm without a secret, or with one shorter than its hash', async () => {
    for (const signingKey of [undefined, 'too-short']) {
      const error = await rejection(createResourceServer({ settings: { algorithm: 'HS256', ...(signingKey ? { signingKey } : {}) }, revocations: 'none' }));
      expect(error).toBeInstanceOf(SettingsError);
      expect((error as SettingsError).setting).toBe('signingKey');
    }
  });

  it('rejects when the auth server is unreachable', async () => {
    const port = await freePort();
    const error = await rejection(
      createResourceServer({ settings: { algorithm: 'ES256', jwkUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` }, revocations: 'none', logger: SILENT }),
    );
    expect(error).not.toBeInstanceOf(SettingsError);
  });

  it('rejects when the JWKS answers an error, is not JSON, or has no keys array', async () => {
    const answers: [number, string][] = [
      [500, '{"detail":"boom"}'],
      [200, 'not json'],
      [200, '{"nokeys":[]}'],
    ];
    for (const [status, body] of answers) {
      const server = await plainServer((_request, response) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body);
      });
      defer(() => server.close());
      await rejection(createResourceServer({ settings: { algorithm: 'ES256', jwkUrl: `${server.url}/jwks.json` }, revocations: 'none', logger: SILENT }));
      expect(server.requests()).toBe(1);
    }
  });

  it('rejects after timeoutMs when the JWKS never answers', async () => {
    const server = await plainServer(() => {});
    defer(() => server.close());
    const error = await rejection(
      createResourceServer({
        settings: { algorithm: 'ES256', jwkUrl: `${server.url}/jwks.json` },
        revocations: 'none',
        jwks: { timeoutMs: 300 },
        logger: SILENT,
      }),
    );
    expect(error.name).toMatch(/TimeoutError|AbortError/);
  });

  it('verifies with the first fetch: the key set is loaded before createResourceServer resolves', async () => {
    const auth = await authServer(asymmetricSettings('ES384'));
    const server = await jwksResourceServer(auth.jwkUrl, 'ES384');
    expect(server.verifySync(await auth.issue()).user_id).toBe(1);
  });
});
