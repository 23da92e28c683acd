import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { accepted, clockAt, testServer } from '../helpers.ts';
import { algNone, badSignature, claimsFor, otherAlgorithm, otherKey, signToken, tamperedPayload } from './support.ts';

/**
 * RFC 7662 (token introspection) and RFC 7009 (token revocation): every requirement of those RFCs that
 * applies to this server, one test each, named after its RFC and section (the table in docs/api.md,
 * "Conformance", maps them). Requirements of RFC 6749 that the two RFCs bring in by reference (client
 * authentication, the endpoint's parameter rules, the error format) are named after the section that
 * brings them in, with the RFC 6749 section in parentheses.
 */

const clock = clockAt(0);
let app: FastifyInstance;
let auth: Auth;
let client: { clientId: string; clientSecret: string };
let basic: string;

beforeAll(async () => {
  ({ app, auth } = await testServer({ clock, settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } }));
  // alice is used by most tests; bob's tokens are signed by hand (never revoked as a whole); carol's are revoked as a whole.
  for (const username of ['alice', 'bob', 'carol']) await auth.users.create({ username, password: 'pw' });
  client = await auth.clients.create('resource-server');
  basic = basicHeader(client.clientId, client.clientSecret);
});
afterAll(async () => {
  await app.close();
  await auth.close();
});

const INTROSPECT = '/oauth/introspect';
const REVOKE = '/oauth/revoke';
const ENDPOINTS = [INTROSPECT, REVOKE];
const BOB = 2;
const CAROL = 3;

const basicHeader = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** POSTs a raw form-encoded body; `authorization` null sends no Authorization header. */
const postForm = (target: FastifyInstance, path: string, body: string, authorization: string | null) =>
  target.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    payload: body,
  });
const call = (path: string, fields: Record<string, string>, authorization: string | null = basic) =>
  postForm(app, path, form(fields), authorization);
const introspect = (token: string, extra: Record<string, string> = {}) => call(INTROSPECT, { token, ...extra });
const revoke = (token: string, extra: Record<string, string> = {}) => call(REVOKE, { token, ...extra });

const login = async (username = 'alice', target = app) => {
  const res = await target.inject({ method: 'POST', url: '/api/token/', payload: { username, password: 'pw' } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access: string; refresh: string };
};
const loginSliding = async () => {
  const res = await app.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'alice', password: 'pw' } });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { token: string }).token;
};
const refreshWith = (refresh: string) => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } });
const me = (access: string) => app.inject({ method: 'GET', url: '/api/me/', headers: { authorization: `Bearer ${access}` } });
const verify = (token: string) => app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token } });
const isActive = async (token: string) => ((await introspect(token)).json() as { active: boolean }).active;

/** A token signed with the server's key for bob, as the server would never mint it (claims patched). */
let handSigned = 0;
const bobToken = (type: 'access' | 'refresh', patch: Record<string, unknown> = {}) =>
  signToken({ ...claimsFor(type, BOB, clock()), jti: `hand${++handSigned}`.padEnd(32, '0'), ...patch });

/** The answer is exactly `{"active":false}`: nothing about why (RFC 7662 §2.2, §4). */
const expectInactive = (res: LightMyRequestResponse) => {
  expect(res.statusCode).toBe(200);
  expect(res.body).toBe('{"active":false}');
};

/** RFC 6749 §5.2: `error` and `error_description` may use %x20-21 / %x23-5B / %x5D-7E only. */
const RFC6749_ERROR_CHARACTERS = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** An RFC 6749 §5.2 error: JSON in application/json, `error` (REQUIRED) and a description in the allowed characters. */
const expectOAuthError = (res: LightMyRequestResponse, status: number, error: string) => {
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({ status, body: { error } });
  expect(res.headers['content-type']).toBe('application/json');
  const body = res.json() as Record<string, string>;
  expect(Object.keys(body)).toEqual(['error', 'error_description']);
  expect(body.error).toMatch(RFC6749_ERROR_CHARACTERS);
  expect(body.error_description).toMatch(RFC6749_ERROR_CHARACTERS);
  if (status === 401) expect(res.headers['www-authenticate']).toBe('Basic realm="oauth"');
  else expect(res.headers['www-authenticate']).toBeUndefined();
};

/** Introspection response names registered by RFC 7662 §3.1 (the IANA "OAuth Token Introspection Response" registry). */
const REGISTERED_NAMES = ['active', 'scope', 'client_id', 'username', 'token_type', 'exp', 'iat', 'nbf', 'sub', 'aud', 'iss', 'jti'];
/** revocable's service-specific names (RFC 7662 §2.2 allows them), documented in docs/api.md. */
const SERVICE_SPECIFIC_NAMES = ['user_id', 'sid'];

describe('RFC 7662 token introspection', () => {
  it('RFC 7662 §2.1: the endpoint requires client authentication: none, an unknown client, a wrong secret or another scheme get 401 invalid_client', async () => {
    const { access } = await login();
    const refusals = [
      null,
      basicHeader(client.clientId, 'wrong'),
      basicHeader('unknown-client', client.clientSecret),
      basicHeader(client.clientId, ''),
      'Basic',
      'Basic !!!',
      'Bearer x',
      `Bearer ${access}`,
    ];
    for (const authorization of refusals) {
      const res = await call(INTROSPECT, { token: access }, authorization);
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.body).not.toContain('active');
    }
    const wrongPost = await call(INTROSPECT, { token: access, client_id: client.clientId, client_secret: 'wrong' }, null);
    expectOAuthError(wrongPost, 401, 'invalid_client');
  });

  it('RFC 7662 §2.1: a POST with an application/x-www-form-urlencoded body is served, the client authenticated by HTTP Basic or by client_id and client_secret in the body', async () => {
    const { access } = await login();
    expect((await call(INTROSPECT, { token: access })).json()).toMatchObject({ active: true });
    const posted = await call(INTROSPECT, { token: access, client_id: client.clientId, client_secret: client.clientSecret }, null);
    expect(posted.json()).toMatchObject({ active: true });
  });

  it('RFC 7662 §2.1: the token parameter is REQUIRED (400 invalid_request without it)', async () => {
    for (const fields of [{}, { token_type_hint: 'access_token' }] as Record<string, string>[]) {
      expectOAuthError(await call(INTROSPECT, fields), 400, 'invalid_request');
    }
  });

  it('RFC 7662 §2.1: a token_type_hint that does not locate the token extends the search to every supported token type', async () => {
    const { access, refresh } = await login();
    const sliding = await loginSliding();
    for (const token_type_hint of ['refresh_token', 'access_token', 'unknown_type']) {
      expect((await introspect(access, { token_type_hint })).json()).toMatchObject({ active: true, token_type: 'access_token' });
      expect((await introspect(refresh, { token_type_hint })).json()).toMatchObject({ active: true, token_type: 'refresh_token' });
      expect((await introspect(sliding, { token_type_hint })).json()).toMatchObject({ active: true, token_type: 'sliding_token' });
    }
  });

  it('RFC 7662 §2.2: the answer is a JSON object in application/json whose REQUIRED member active is a boolean', async () => {
    const { access, refresh } = await login();
    for (const token of [access, refresh, await loginSliding(), 'garbage', bobToken('refresh')]) {
      const res = await introspect(token);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json() as Record<string, unknown>;
      expect(typeof body.active).toBe('boolean');
      expect(Object.keys(body)[0]).toBe('active');
    }
  });

  it('RFC 7662 §2.2: an active token answers active true with its metadata, in the registered formats', async () => {
    const { access, refresh } = await login();
    const res = await introspect(access);
    expect(res.json()).toMatchObject({ active: true, token_type: 'access_token', username: 'alice', sub: '1', user_id: 1 });
    expect((await introspect(refresh)).json()).toMatchObject({ active: true, token_type: 'refresh_token', username: 'alice' });
    const body = res.json() as Record<string, unknown>;
    // exp and iat are integer seconds since the epoch; sub and jti are strings.
    expect(Number.isInteger(body.exp)).toBe(true);
    expect(Number.isInteger(body.iat)).toBe(true);
    expect(body.exp).toBe(Math.floor(clock() / 1000) + 300);
    expect(typeof body.sub).toBe('string');
    expect(typeof body.jti).toBe('string');
  });

  it('RFC 7662 §2.2: every member of an answer is a registered response name or a documented service-specific one', async () => {
    const { access, refresh } = await login();
    for (const token of [access, refresh, await loginSliding()]) {
      const names = Object.keys((await introspect(token)).json() as object);
      expect(names.filter((name) => !REGISTERED_NAMES.includes(name) && !SERVICE_SPECIFIC_NAMES.includes(name))).toEqual([]);
    }
  });

  it('RFC 7662 §2.2 and §4: a token that is not active or does not exist here answers {"active":false} and nothing else', async () => {
    const { access, refresh } = await login();
    const rotated = refresh;
    expect((await refreshWith(refresh)).statusCode).toBe(200); // refresh is rotated: no longer active
    const inactive = [
      'garbage',
      'a.b.c',
      `${access}x`,
      rotated,
      bobToken('refresh'), // validly signed, never issued here (not in the store)
      bobToken('access', { token_type: undefined }), // no token type
      bobToken('access', { user_id: undefined }), // no user
      bobToken('access', { user_id: 999 }), // no such user
    ];
    for (const token of inactive) expectInactive(await introspect(token));
  });

  it('RFC 7662 §2.3: a properly authorized query for an inactive or invalid token is no error: 200 {"active":false}', async () => {
    for (const token of ['x', 'not a jwt at all', '.', 'a'.repeat(10_000)]) expectInactive(await introspect(token));
  });

  it('RFC 7662 §2.3: invalid client credentials answer 401 as RFC 6749 §5.2 says, with a WWW-Authenticate challenge for the Basic scheme the client used', async () => {
    const { access } = await login();
    const res = await call(INTROSPECT, { token: access }, basicHeader(client.clientId, 'wrong'));
    expectOAuthError(res, 401, 'invalid_client');
    expect(res.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
  });

  it('RFC 7662 §4: the server determines whether a token has expired: an expired token is inactive', async () => {
    const fresh = await login();
    expect(await isActive(fresh.access)).toBe(true);
    clock.advance(301_000);
    try {
      expectInactive(await introspect(fresh.access));
    } finally {
      clock.advance(-301_000);
    }
    expectInactive(await introspect(bobToken('access', { exp: Math.floor(clock() / 1000) - 1 })));
  });

  it('RFC 7662 §4: the server determines whether a token can be used yet: nbf or iat in the future is inactive', async () => {
    const now = Math.floor(clock() / 1000);
    expect(await isActive(bobToken('access'))).toBe(true);
    expectInactive(await introspect(bobToken('access', { nbf: now + 60 })));
    expectInactive(await introspect(bobToken('access', { iat: now + 60 })));
    expect(await isActive(bobToken('access', { nbf: now }))).toBe(true);
  });

  it('RFC 7662 §4: the server determines whether a token was revoked: blacklisted, its session ended, or its user revoked', async () => {
    const blacklisted = await login();
    expect((await app.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: blacklisted.refresh } })).statusCode).toBe(200);
    expectInactive(await introspect(blacklisted.refresh));
    expectInactive(await introspect(blacklisted.access));

    const loggedOut = await login();
    expect((await app.inject({ method: 'POST', url: '/api/logout/', headers: { authorization: `Bearer ${loggedOut.access}` } })).statusCode).toBe(205);
    expectInactive(await introspect(loggedOut.access));
    expectInactive(await introspect(loggedOut.refresh));

    const carol = await login('carol');
    await auth.revokeAllForUser(CAROL);
    expectInactive(await introspect(carol.access));
    expectInactive(await introspect(carol.refresh));
  });

  it('RFC 7662 §4: the server validates the signature: a forged, tampered, re-keyed, alg none or other-algorithm token is inactive', async () => {
    const { access, refresh } = await login();
    const forged = [
      badSignature(access),
      badSignature(refresh),
      tamperedPayload(access, { user_id: 2 }),
      algNone(access),
      otherKey(access),
      otherAlgorithm(access),
      signToken(claimsFor('access', BOB, clock()), { key: 'another-signing-key-of-32-bytes-or-more!' }),
    ];
    for (const token of forged) expectInactive(await introspect(token));
    expect(await isActive(access)).toBe(true);
  });

  it('RFC 7662 §4: the server determines whether a token may be used here: with an audience configured, a token for another audience (or none) is inactive', async () => {
    const audience = 'https://api.example';
    const server = await testServer({ clock, settings: { audience } });
    try {
      await server.auth.users.create({ username: 'alice', password: 'pw' });
      const own = await server.auth.clients.create('resource-server');
      const ask = (token: string) =>
        postForm(server.app, INTROSPECT, form({ token }), basicHeader(own.clientId, own.clientSecret));
      const { access } = await login('alice', server.app);
      expect((await ask(access)).json()).toMatchObject({ active: true, aud: audience });
      const claims = { ...claimsFor('access', 1, clock()), jti: 'aud'.padEnd(32, '0') };
      expectInactive(await ask(signToken({ ...claims, aud: 'https://other.example' })));
      expectInactive(await ask(signToken(claims)));
    } finally {
      await server.app.close();
      await server.auth.close();
    }
  });

  it('RFC 7662 §4: HTTP GET is refused (405), and a token in the query string is never read', async () => {
    const { access } = await login();
    const get = await app.inject({ method: 'GET', url: `${INTROSPECT}?token=${access}`, headers: { authorization: basic } });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    expect(get.body).not.toContain('active');
    const queried = await postForm(app, `${INTROSPECT}?token=${access}`, '', basic);
    expectOAuthError(queried, 400, 'invalid_request');
  });
});

describe('RFC 7009 token revocation', () => {
  it('RFC 7009 §2.1: the client must authenticate (401 invalid_client), and an unauthenticated request revokes nothing', async () => {
    const { access, refresh } = await login();
    for (const authorization of [null, basicHeader(client.clientId, 'wrong'), 'Bearer x', `Bearer ${access}`]) {
      expectOAuthError(await call(REVOKE, { token: refresh }, authorization), 401, 'invalid_client');
      expectOAuthError(await call(REVOKE, { token: access }, authorization), 401, 'invalid_client');
    }
    expect(accepted(auth, access)).toBe(true);
    expect(await isActive(refresh)).toBe(true);
  });

  it('RFC 7009 §2.1: a POST with an application/x-www-form-urlencoded body is served, the client authenticated by HTTP Basic or by client_id and client_secret in the body', async () => {
    const first = await login();
    const basicRes = await call(REVOKE, { token: first.refresh });
    expect(basicRes.statusCode).toBe(200);
    expect(await isActive(first.refresh)).toBe(false);
    const second = await login();
    const posted = await call(REVOKE, { token: second.refresh, client_id: client.clientId, client_secret: client.clientSecret }, null);
    expect(posted.statusCode).toBe(200);
    expect(await isActive(second.refresh)).toBe(false);
  });

  it('RFC 7009 §2.1: the token parameter is REQUIRED (400 invalid_request without it)', async () => {
    for (const fields of [{}, { token_type_hint: 'refresh_token' }] as Record<string, string>[]) {
      expectOAuthError(await call(REVOKE, fields), 400, 'invalid_request');
    }
  });

  it('RFC 7009 §2: revocation of refresh tokens is supported: the refresh token can no longer be used', async () => {
    const { refresh } = await login();
    const res = await revoke(refresh, { token_type_hint: 'refresh_token' });
    expect(res.statusCode).toBe(200);
    expect((await refreshWith(refresh)).statusCode).toBe(401);
    expectInactive(await introspect(refresh));
  });

  it('RFC 7009 §2.1: revoking a refresh token also invalidates every access token of the same grant', async () => {
    const first = await login();
    const rotated = (await refreshWith(first.refresh)).json() as { access: string; refresh: string };
    const other = await login(); // another grant of the same user
    expect((await revoke(rotated.refresh)).statusCode).toBe(200);
    expect(accepted(auth, first.access)).toBe(false);
    expect(accepted(auth, rotated.access)).toBe(false);
    expect(accepted(auth, other.access)).toBe(true);
    expect(await isActive(other.refresh)).toBe(true);
  });

  it('RFC 7009 §2: revocation of access tokens is supported, and it revokes the refresh token of the same grant too', async () => {
    const { access, refresh } = await login();
    const other = await login();
    expect((await revoke(access, { token_type_hint: 'access_token' })).statusCode).toBe(200);
    expect(accepted(auth, access)).toBe(false);
    expect((await refreshWith(refresh)).statusCode).toBe(401);
    expect(accepted(auth, other.access)).toBe(true);
  });

  it('RFC 7009 §2: sliding tokens (revocable\'s third type) are revoked too', async () => {
    const sliding = await loginSliding();
    expect((await revoke(sliding)).statusCode).toBe(200);
    expectInactive(await introspect(sliding));
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/sliding/refresh/', payload: { token: sliding } });
    expect(refreshed.statusCode).toBe(401);
  });

  it('RFC 7009 §2.1: the invalidation takes place immediately: after the 200 the token is refused everywhere', async () => {
    const byRefresh = await login();
    expect((await revoke(byRefresh.refresh)).statusCode).toBe(200);
    expect((await refreshWith(byRefresh.refresh)).statusCode).toBe(401);
    expect((await me(byRefresh.access)).statusCode).toBe(401);
    expect((await verify(byRefresh.access)).statusCode).toBe(401);
    expectInactive(await introspect(byRefresh.access));

    const byAccess = await login();
    expect((await revoke(byAccess.access)).statusCode).toBe(200);
    expect((await me(byAccess.access)).statusCode).toBe(401);
    expect((await verify(byAccess.access)).statusCode).toBe(401);
    expect((await refreshWith(byAccess.refresh)).statusCode).toBe(401);
    expectInactive(await introspect(byAccess.access));
  });

  it('RFC 7009 §2.1: a token_type_hint that does not locate the token extends the search to every supported token type', async () => {
    const first = await login();
    expect((await revoke(first.refresh, { token_type_hint: 'access_token' })).statusCode).toBe(200);
    expect(await isActive(first.refresh)).toBe(false);
    expect(accepted(auth, first.access)).toBe(false);
    const second = await login();
    expect((await revoke(second.access, { token_type_hint: 'refresh_token' })).statusCode).toBe(200);
    expect(accepted(auth, second.access)).toBe(false);
  });

  it('RFC 7009 §2.2: an invalid token type hint value is ignored and does not change the answer (never unsupported_token_type)', async () => {
    const { access, refresh } = await login();
    const res = await revoke(refresh, { token_type_hint: 'id_token' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(accepted(auth, access)).toBe(false);
    expect(await isActive(refresh)).toBe(false);
    expect((await revoke('garbage', { token_type_hint: 'not-a-type' })).statusCode).toBe(200);
  });

  it('RFC 7009 §2.2: 200 when the token was revoked and when it is invalid: garbage, forged, expired, unknown or already revoked', async () => {
    const { access, refresh } = await login();
    const expired = bobToken('access', { exp: Math.floor(clock() / 1000) - 1 });
    for (const token of ['garbage', 'a.b.c', badSignature(access), expired, bobToken('refresh'), refresh, refresh, access]) {
      const res = await revoke(token);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('');
    }
  });

  it('RFC 7009 §2.2.1: errors are RFC 6749 §5.2 JSON: 400 invalid_request, 401 invalid_client with a challenge for the Basic scheme used', async () => {
    expectOAuthError(await call(REVOKE, {}), 400, 'invalid_request');
    const refused = await call(REVOKE, { token: 'x' }, basicHeader(client.clientId, 'wrong'));
    expectOAuthError(refused, 401, 'invalid_client');
    expect(refused.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
  });
});

describe('RFC 6749 rules the two RFCs bring in', () => {
  it('RFC 7009 §2 (RFC 6749 §3.1): a parameter sent without a value is treated as omitted (both endpoints)', async () => {
    for (const path of ENDPOINTS) {
      expectOAuthError(await call(path, { token: '' }), 400, 'invalid_request');
      const { refresh } = await login();
      const empties = { token: refresh, token_type_hint: '', client_id: '', client_secret: '' };
      expect((await call(path, empties)).statusCode).toBe(200);
      expectOAuthError(await call(path, { token: refresh, client_id: client.clientId, client_secret: '' }, null), 401, 'invalid_client');
    }
  });

  it('RFC 7009 §2 (RFC 6749 §3.1): unrecognized request parameters are ignored (both endpoints)', async () => {
    const { refresh } = await login();
    const extra = { scope: 'read', grant_type: 'refresh_token', resource: 'https://api.example', foo: 'bar' };
    expect((await call(INTROSPECT, { token: refresh, ...extra })).json()).toMatchObject({ active: true });
    expect((await call(REVOKE, { token: refresh, ...extra })).statusCode).toBe(200);
    expect(await isActive(refresh)).toBe(false);
  });

  it('RFC 7009 §2 (RFC 6749 §3.1): a parameter included more than once is refused with 400 invalid_request, and nothing is revoked (both endpoints)', async () => {
    const { access, refresh } = await login();
    const q = (value: string) => encodeURIComponent(value);
    const bodies = [
      `token=${q(refresh)}&token=${q(access)}`,
      `token=${q(refresh)}&token_type_hint=refresh_token&token_type_hint=access_token`,
      `token=${q(refresh)}&client_id=${q(client.clientId)}&client_id=${q(client.clientId)}&client_secret=${q(client.clientSecret)}`,
    ];
    for (const path of ENDPOINTS) {
      for (const body of bodies) {
        const authorization = body.includes('client_id') ? null : basic;
        expectOAuthError(await postForm(app, path, body, authorization), 400, 'invalid_request');
      }
    }
    expect(await isActive(refresh)).toBe(true);
    expect(accepted(auth, access)).toBe(true);
    // A repeat without a value is an omission, and unknown parameters are not looked at.
    const harmless = `token=${q(refresh)}&token=&foo=1&foo=2`;
    expect((await postForm(app, INTROSPECT, harmless, basic)).json()).toMatchObject({ active: true });
  });

  it('RFC 7009 §2.1 (RFC 6749 §2.3.1): HTTP Basic client authentication is supported, client_id and client_secret form-urlencoded (both endpoints)', async () => {
    const percentEncoded = (value: string) => [...value].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    const encoded = basicHeader(percentEncoded(client.clientId), percentEncoded(client.clientSecret));
    const { refresh } = await login();
    expect((await call(INTROSPECT, { token: refresh }, encoded)).json()).toMatchObject({ active: true });
    expect((await call(REVOKE, { token: refresh }, encoded)).statusCode).toBe(200);
    expect(await isActive(refresh)).toBe(false);
  });

  it('RFC 7009 §2.1 (RFC 6749 §2.3): a client using more than one authentication method is refused with 400 invalid_request (both endpoints)', async () => {
    const { refresh } = await login();
    for (const path of ENDPOINTS) {
      const both = await call(path, { token: refresh, client_id: client.clientId, client_secret: client.clientSecret }, basic);
      expectOAuthError(both, 400, 'invalid_request');
      const wrongHeader = await call(path, { token: refresh, client_id: client.clientId, client_secret: client.clientSecret }, 'Basic !!!');
      expectOAuthError(wrongHeader, 400, 'invalid_request');
    }
    expect(await isActive(refresh)).toBe(true);
    // client_id alone in the body is no second method.
    expect((await call(INTROSPECT, { token: refresh, client_id: client.clientId }, basic)).json()).toMatchObject({ active: true });
  });

  it('RFC 7009 §2.1 (RFC 6749 §2.3.1): client secrets resist brute force: 256 random bits stored only as a hash, an unknown client and a wrong secret answered alike', async () => {
    expect(client.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const record = await auth.store.findClient(client.clientId);
    expect(record).toBeDefined();
    expect(JSON.stringify(record)).not.toContain(client.clientSecret);
    const unknown = await call(INTROSPECT, { token: 'x' }, basicHeader('unknown-client', client.clientSecret));
    const wrong = await call(INTROSPECT, { token: 'x' }, basicHeader(client.clientId, 'wrong'));
    expect({ status: unknown.statusCode, body: unknown.body, challenge: unknown.headers['www-authenticate'] }).toEqual({
      status: wrong.statusCode,
      body: wrong.body,
      challenge: wrong.headers['www-authenticate'],
    });
  });

  it('RFC 7662 §2.3 and RFC 7009 §2.2.1 (RFC 6749 §5.2): error and error_description use only the characters RFC 6749 allows (both endpoints)', async () => {
    for (const path of ENDPOINTS) {
      const answers = [
        await call(path, {}),
        await call(path, { token: 'x' }, null),
        await postForm(app, path, 'token=a&token=b', basic),
        await call(path, { token: 'x', client_secret: 'y' }, basic),
      ];
      for (const res of answers) {
        const body = res.json() as Record<string, string>;
        expect(body.error).toMatch(RFC6749_ERROR_CHARACTERS);
        expect(body.error_description).toMatch(RFC6749_ERROR_CHARACTERS);
      }
    }
  });
});

describe('revocation against a store that fails or is watched', () => {
  const TOKEN_STORE_CALLS = new Set(['blacklistToken', 'revokeSession', 'isTokenLive', 'findSession', 'revokeUser']);
  let watched: { app: FastifyInstance; auth: Auth };
  let own: string;
  let failing = false;
  const calls: string[] = [];

  beforeAll(async () => {
    const inner = await openStore(':memory:');
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (typeof property === 'string' && TOKEN_STORE_CALLS.has(property)) {
            calls.push(property);
            if (failing) return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
          }
          return (value as (...values: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    watched = await testServer({ clock, database: store, revocationPollIntervalMs: 0 });
    await watched.auth.users.create({ username: 'alice', password: 'pw' });
    const registered = await watched.auth.clients.create('resource-server');
    own = basicHeader(registered.clientId, registered.clientSecret);
  });
  afterAll(async () => {
    await watched.app.close();
    await watched.auth.close();
  });

  const revokeThere = (token: string, authorization: string | null = own) => postForm(watched.app, REVOKE, form({ token }), authorization);

  it('RFC 7009 §2.2.1: a revocation that cannot be committed answers 503, never 200, and the token stays valid', async () => {
    const { access, refresh } = await login('alice', watched.app);
    failing = true;
    try {
      for (const token of [refresh, access]) {
        const res = await revokeThere(token);
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ code: 'database_unavailable' });
      }
    } finally {
      failing = false;
    }
    expect(accepted(watched.auth, access)).toBe(true);
    expect((await revokeThere(refresh)).statusCode).toBe(200);
    expect(accepted(watched.auth, access)).toBe(false);
  });

  it('RFC 7009 §5: refusals are cheap: an unauthenticated request or a forged token never reaches the token tables', async () => {
    const { access, refresh } = await login('alice', watched.app);
    calls.length = 0;
    await revokeThere(refresh, null);
    await revokeThere(refresh, basicHeader('unknown', 'wrong'));
    await postForm(watched.app, INTROSPECT, form({ token: refresh }), null);
    for (const forged of ['garbage', badSignature(refresh), badSignature(access), algNone(access)]) {
      expect((await revokeThere(forged)).statusCode).toBe(200);
      expectInactive(await postForm(watched.app, INTROSPECT, form({ token: forged }), own));
    }
    expect(calls).toEqual([]);
    expect(accepted(watched.auth, access)).toBe(true);
  });
});
