import { constants, createHmac, createPrivateKey, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { SettingsError } from '../src/errors.ts';
import { generateKeyMaterial } from '../src/keys/generate.ts';
import type { Algorithm } from '../src/settings/settings.ts';
import type { SigningKeyRecord } from '../src/store/records.ts';
import { type TestAuthOptions, accepted, clockAt, decodePayload, tempDir, testAuth } from './helpers.ts';

/**
 * Managed signing keys: `keys.generate` adds a standby key (verifying, published when asymmetric, not
 * signing), `keys.rotate` schedules it to sign and gives the keys it replaces an end, every instance
 * rereads the keys (on a timer, on `keys.reload()`, and soon after a token names a kid it does not know).
 */

const FIXTURES = join(import.meta.dirname, 'fixtures', 'interop');
const pem = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const ES256_SETTINGS = { algorithm: 'ES256', signingKey: pem('ec256.key') } as const;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** The default lifetimes: the longest is a day (refresh, sliding refresh), leeway 0. */
const HORIZON = 86_400 * SECOND;
/** What a retired key verifies for past the successor's activation: the horizon plus one reload interval. */
const GRACE = HORIZON + 30 * SECOND;

const opened: Auth[] = [];
const dirs: { remove(): void }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((auth) => auth.close()));
  for (const dir of dirs.splice(0)) dir.remove();
});

async function open(options: TestAuthOptions = {}): Promise<Auth> {
  const auth = await testAuth(options);
  opened.push(auth);
  return auth;
}

/** A SQLite file that two Auth instances can share. */
function sharedDatabase(): string {
  const dir = tempDir();
  dirs.push(dir);
  return `sqlite:${join(dir.path, 'shared.db')}`;
}

const rawHeader = (token: string) => Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8');
const header = (token: string) => JSON.parse(rawHeader(token)) as Record<string, string>;
const kids = (auth: Auth) => auth.keys.jwks().keys.map((jwk) => jwk.kid);

let users = 0;
async function issue(auth: Auth) {
  const user = await auth.users.create({ username: `user${++users}`, password: 'pw' });
  return auth.issueTokens(user);
}

async function storedKey(auth: Auth, kid: string): Promise<SigningKeyRecord> {
  const key = (await auth.store.listSigningKeys()).find((each) => each.kid === kid);
  if (!key) throw new Error(`no stored key ${kid}`);
  return key;
}

/** The token's claims signed again by `key` (with its kid), with overrides: a token only that key could make. */
function resign(token: string, key: SigningKeyRecord, overrides: Record<string, unknown> = {}): string {
  return createSigner({ key: key.privateKey, algorithm: key.algorithm as Algorithm, kid: key.kid })({
    ...decodePayload(token),
    ...overrides,
  });
}

/** Verifies a JWS with a JWK and node:crypto alone. */
function verifiesWith(jwk: Record<string, string>, token: string, algorithm: string): boolean {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const cut = token.lastIndexOf('.');
  const input = Buffer.from(token.slice(0, cut));
  const signature = Buffer.from(token.slice(cut + 1), 'base64url');
  if (algorithm === 'EdDSA') return verify(null, input, key, signature);
  const hash = `sha${algorithm.slice(2)}`;
  if (algorithm.startsWith('ES')) return verify(hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (algorithm.startsWith('PS')) return verify(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
  return verify(hash, input, key, signature);
}

/** Verifies an HMAC JWS with the secret and node:crypto alone. */
function hmacVerifies(secret: string, token: string, algorithm: string): boolean {
  const cut = token.lastIndexOf('.');
  const expected = createHmac(`sha${algorithm.slice(2)}`, secret).update(token.slice(0, cut)).digest();
  const signature = Buffer.from(token.slice(cut + 1), 'base64url');
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}

describe('keys.generate', () => {
  it('adds a standby key: listed, published in the JWKS and verifying, not signing', async () => {
    const clock = clockAt();
    const auth = await open({ clock, settings: ES256_SETTINGS });
    expect(await auth.keys.list()).toEqual([]);
    const configuredKid = header((await issue(auth)).access).kid as string;
    expect(kids(auth)).toEqual([configuredKid]);

    const standby = await auth.keys.generate();
    expect(standby).toEqual({
      kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      algorithm: 'ES256',
      state: 'standby',
      createdAtMs: clock(),
      activatesAtMs: null,
      verifyUntilMs: null,
    });
    expect(await auth.keys.list()).toEqual([standby]);
    expect(kids(auth)).toEqual([configuredKid, standby.kid]);
    expect(auth.keys.jwks().keys.every((jwk) => !('d' in jwk))).toBe(true);

    const pair = await issue(auth);
    expect(header(pair.access).kid).toBe(configuredKid);
    // A token the standby key signed verifies already.
    expect(accepted(auth, resign(pair.access, await storedKey(auth, standby.kid)))).toBe(true);
  });
});

describe('keys.rotate', () => {
  it('the old key signs until the activation, then the new one; old tokens verify until they expire, the old key until verifyUntil', async () => {
    const clock = clockAt();
    const start = clock();
    const auth = await open({ clock, settings: ES256_SETTINGS });
    const old = await issue(auth);
    const oldKid = header(old.access).kid as string;

    const rotation = await auth.keys.rotate();
    const newKid = rotation.activated.kid;
    expect(newKid).not.toBe(oldKid);
    expect(rotation.activatesAtMs).toBe(start + MINUTE);
    expect(rotation.retiredVerifyUntilMs).toBe(start + MINUTE + GRACE);
    // The configured key is stored under its own kid, so the tokens it signed keep verifying. (Both were
    // created in the same millisecond: the list orders them by kid.)
    const listed = await auth.keys.list();
    expect(listed).toHaveLength(2);
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kid: newKid, algorithm: 'ES256', state: 'pending', activatesAtMs: start + MINUTE, verifyUntilMs: null }),
        expect.objectContaining({ kid: oldKid, algorithm: 'ES256', state: 'active', verifyUntilMs: start + MINUTE + GRACE }),
      ]),
    );
    expect(new Set(kids(auth))).toEqual(new Set([oldKid, newKid]));

    clock.advance(MINUTE - 1);
    const beforeActivation = await issue(auth);
    expect(header(beforeActivation.access).kid).toBe(oldKid);
    clock.advance(1);
    const afterActivation = await issue(auth);
    expect(header(afterActivation.access).kid).toBe(newKid);
    expect((await auth.keys.list()).map((key) => [key.kid, key.state])).toEqual(
      expect.arrayContaining([
        [oldKid, 'retiring'],
        [newKid, 'active'],
      ]),
    );

    // Old tokens keep verifying until their own expiry (access: 5 minutes); the old refresh token still refreshes.
    expect(accepted(auth, old.access)).toBe(true);
    expect(accepted(auth, beforeActivation.access)).toBe(true);
    expect(header((await auth.refresh(old.refresh)).access).kid).toBe(newKid);
    clock.set(start + 5 * MINUTE - 1);
    expect(accepted(auth, old.access)).toBe(true);
    clock.set(start + 5 * MINUTE);
    expect(accepted(auth, old.access)).toBe(false);

    // A token of the old key that outlives its grace (only its key could sign it) verifies until verifyUntil.
    const longLived = resign(old.access, await storedKey(auth, oldKid), { exp: Math.floor(start / 1000) + 10 * 86_400 });
    clock.set(rotation.retiredVerifyUntilMs - 1);
    expect(accepted(auth, longLived)).toBe(true);
    expect(kids(auth)).toContain(oldKid);
    clock.set(rotation.retiredVerifyUntilMs);
    expect(accepted(auth, longLived)).toBe(false);
    expect(kids(auth)).toEqual([newKid]);
    expect((await auth.keys.list()).find((key) => key.kid === oldKid)?.state).toBe('expired');
    // Rereading the keys drops it from the ring: still refused.
    await auth.keys.reload();
    expect(accepted(auth, longLived)).toBe(false);
    expect(accepted(auth, (await issue(auth)).access)).toBe(true);
  });

  it('HS256: the lone settings key keeps the bare header until the rotation activates; managed keys carry a kid', async () => {
    const clock = clockAt();
    const auth = await open({ clock });
    const bare = await issue(auth);
    expect(rawHeader(bare.access)).toBe('{"alg":"HS256","typ":"JWT"}');
    expect(rawHeader(bare.refresh)).toBe('{"alg":"HS256","typ":"JWT"}');

    const standby = await auth.keys.generate();
    expect(standby.algorithm).toBe('HS256');
    expect(auth.keys.jwks()).toEqual({ keys: [] });
    const rotation = await auth.keys.rotate();
    expect(rotation.activated.kid).toBe(standby.kid);
    // Stored by the rotation, the settings key still signs Simple JWT's header: an instance that has not
    // reread the keys yet knows it by no kid.
    expect(rawHeader((await issue(auth)).access)).toBe('{"alg":"HS256","typ":"JWT"}');

    clock.advance(MINUTE);
    const managed = await issue(auth);
    expect(header(managed.access)).toEqual({ alg: 'HS256', typ: 'JWT', kid: standby.kid });
    expect(accepted(auth, managed.access)).toBe(true);
    expect(accepted(auth, bare.access)).toBe(true);
    expect(auth.keys.jwks()).toEqual({ keys: [] });
  });

  it.each(['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const)(
    '%s: generate, rotate, and the token verifies with the published key (the secret for HMAC) and node:crypto alone',
    async (algorithm) => {
      const clock = clockAt();
      const auth = await open({ clock });
      const standby = await auth.keys.generate(algorithm);
      const rotation = await auth.keys.rotate({ delayMs: 0 });
      expect(rotation.activated.kid).toBe(standby.kid);
      const pair = await issue(auth);
      expect(header(pair.access)).toEqual({ alg: algorithm, typ: 'JWT', kid: standby.kid });
      expect(accepted(auth, pair.access)).toBe(true);
      await expect(auth.refresh(pair.refresh)).resolves.toHaveProperty('access');

      if (algorithm.startsWith('HS')) {
        expect(auth.keys.jwks()).toEqual({ keys: [] });
        const { privateKey } = await storedKey(auth, standby.kid);
        expect(hmacVerifies(privateKey, pair.access, algorithm)).toBe(true);
        expect(hmacVerifies(`${privateKey}x`, pair.access, algorithm)).toBe(false);
      } else {
        const jwk = auth.keys.jwks().keys.find((each) => each.kid === standby.kid);
        expect(jwk).toMatchObject({ alg: algorithm, use: 'sig', kid: standby.kid });
        expect(jwk).not.toHaveProperty('d');
        expect(verifiesWith(jwk as Record<string, string>, pair.access, algorithm)).toBe(true);
        expect(verifiesWith(jwk as Record<string, string>, pair.refresh, algorithm)).toBe(true);
      }
    },
  );
});

describe('several instances', () => {
  it('B signs with the key A rotated to once B rereads the keys; each accepts the other', async () => {
    const database = sharedDatabase();
    const clock = clockAt();
    const a = await open({ database, clock });
    const b = await open({ database, clock });
    const rotation = await a.keys.rotate();
    clock.advance(MINUTE);

    const fromA = await issue(a);
    expect(header(fromA.access).kid).toBe(rotation.activated.kid);
    // B has not reread the keys: it still signs with the settings key, which A still accepts.
    const fromStaleB = await issue(b);
    expect(rawHeader(fromStaleB.access)).toBe('{"alg":"HS256","typ":"JWT"}');
    expect(accepted(a, fromStaleB.access)).toBe(true);

    await b.keys.reload();
    const fromB = await issue(b);
    expect(header(fromB.access).kid).toBe(rotation.activated.kid);
    expect(accepted(a, fromB.access)).toBe(true);
    expect(accepted(b, fromA.access)).toBe(true);
    expect(accepted(b, fromStaleB.access)).toBe(true);
  });

  it('an instance whose clock lags the one that rotated keeps signing with the key it signed with', async () => {
    const database = sharedDatabase();
    const clockA = clockAt(1500);
    const clockB = clockAt(0);
    const a = await open({ database, clock: clockA });
    const b = await open({ database, clock: clockB });
    const rotation = await a.keys.rotate({ delayMs: 0 });
    await b.keys.reload();
    const lagging = await issue(b);
    expect(rawHeader(lagging.access)).toBe('{"alg":"HS256","typ":"JWT"}');
    expect(accepted(a, lagging.access)).toBe(true);
    clockB.advance(1500);
    expect(header((await issue(b)).access).kid).toBe(rotation.activated.kid);
  });

  it('a token naming a kid B does not know is refused, and makes B reread the keys: then it is accepted', async () => {
    const database = sharedDatabase();
    const clock = clockAt();
    const a = await open({ database, clock });
    const b = await open({ database, clock });
    const rotation = await a.keys.rotate({ delayMs: 0 });
    const pair = await issue(a);
    expect(header(pair.access).kid).toBe(rotation.activated.kid);

    expect(accepted(b, pair.access)).toBe(false);
    for (let i = 0; i < 100 && !accepted(b, pair.access); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(accepted(b, pair.access)).toBe(true);
    expect(header((await issue(b)).access).kid).toBe(rotation.activated.kid);
  });
});

describe('keys given and stored', () => {
  it.each([
    ['without a public key', null],
    ['beside a public key of the right type', generateKeyMaterial('ES256').publicKey as string],
  ])('a stored key whose private key is of the wrong type for its algorithm is refused by its kid (%s)', async (_, publicKey) => {
    const database = sharedDatabase();
    const clock = clockAt();
    const auth = await open({ database, clock });
    const kid = `wrong-type-${publicKey === null ? 'alone' : 'paired'}`;
    await auth.store.addSigningKey({
      kid,
      algorithm: 'ES256',
      privateKey: generateKeyMaterial('RS256').privateKey,
      publicKey,
      createdAtMs: clock(),
      activatesAtMs: null,
      verifyUntilMs: null,
    });
    const refusal = await auth.keys.reload().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(SettingsError);
    expect((refusal as SettingsError).setting).toBe(`key ${kid}`);
    expect((refusal as SettingsError).message).toContain(`Invalid setting "key ${kid}"`);
    // The keys in use stay as they were.
    expect(accepted(auth, (await issue(auth)).access)).toBe(true);
    // An instance starting on that database refuses to start, naming the key.
    await expect(testAuth({ database, clock })).rejects.toMatchObject({ setting: `key ${kid}` });
  });

  it('a JWK works as signingKey (and as verifyingKey): the token carries the same thumbprint kid as with PEM', async () => {
    const jwk = createPrivateKey(pem('ec256.key')).export({ format: 'jwk' });
    const publicJwk = createPublicKey(pem('ec256.pub')).export({ format: 'jwk' });
    const fromPem = await open({ settings: ES256_SETTINGS });
    const fromJwk = await open({ settings: { algorithm: 'ES256', signingKey: JSON.stringify(jwk) } });
    const bothJwk = await open({
      settings: { algorithm: 'ES256', signingKey: JSON.stringify(jwk), verifyingKey: JSON.stringify(publicJwk) },
    });
    const pair = await issue(fromJwk);
    expect(header(pair.access).kid).toBe(kids(fromPem)[0]);
    expect(kids(fromJwk)).toEqual(kids(fromPem));
    expect(kids(bothJwk)).toEqual(kids(fromPem));
    expect(verifiesWith(fromJwk.keys.jwks().keys[0] as Record<string, string>, pair.access, 'ES256')).toBe(true);
    expect(accepted(fromJwk, pair.access)).toBe(true);
    expect(accepted(bothJwk, (await issue(bothJwk)).access)).toBe(true);
  });
});
