import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { accepted, clockAt, testServer } from '../helpers.ts';

/** RFC 7662 (token introspection) and RFC 7009 (token revocation), each applicable MUST a test. */

const clock = clockAt(0);
let app: FastifyInstance;
let auth: Auth;
let client: { clientId: string; clientSecret: string };
let basic: string;

beforeAll(async () => {
  ({ app, auth } = await testServer({ clock, settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } }));
  await auth.users.create({ username: 'alice', password: 'pw' });
  client = await auth.clients.create('resource-server');
  basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
});
afterAll(async () => {
  await app.close();
  await auth.close();
});

const login = async () => {
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'alice', password: 'pw' } });
  return res.json() as { access: string; refresh: string };
};
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
/** `authorization` null sends no Authorization header (undefined would take the default). */
const call = (path: string, fields: Record<string, string>, authorization: string | null = basic) =>
  app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    payload: form(fields),
  });
const introspect = (token: string, extra: Record<string, string> = {}) => call('/oauth/introspect', { token, ...extra });

describe('RFC 7662 token introspection', () => {
  it('§2.1: the request needs the token parameter (400 invalid_request without it)', async () => {
    const res = await call('/oauth/introspect', {});
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('§2.1: the caller must authenticate; a wrong or missing client gets 401 invalid_client', async () => {
    const { access } = await login();
    for (const authorization of [null, `Basic ${Buffer.from(`${client.clientId}:wrong`).toString('base64')}`, 'Bearer x']) {
      const res = await call('/oauth/introspect', { token: access }, authorization);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
      expect(res.headers['www-authenticate']).toBe('Basic realm="oauth"');
    }
    const posted = await call('/oauth/introspect', { token: access, client_id: client.clientId, client_secret: client.clientSecret }, null);
    expect(posted.json()).toMatchObject({ active: true });
  });

  it('§2.2: an active token answers active true with its claims', async () => {
    const { access, refresh } = await login();
    const res = await introspect(access);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ active: true, token_type: 'access_token', username: 'alice', sub: '1', user_id: 1 });
    expect((await introspect(refresh)).json()).toMatchObject({ active: true, token_type: 'refresh_token' });
  });

  it('§2.2: an invalid, expired or revoked token answers {"active": false} and nothing else', async () => {
    const { access, refresh } = await login();
    const rotated = (await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })).json();
    const inactive = ['garbage', `${access}x`, refresh]; // refresh was rotated: no longer active
    for (const token of inactive) expect((await introspect(token)).body).toBe('{"active":false}');
    await auth.revokeAllForUser(1);
    expect((await introspect(rotated.access)).body).toBe('{"active":false}');
    expect((await introspect(rotated.refresh)).body).toBe('{"active":false}');
    const fresh = await login();
    clock.advance(301_000);
    expect((await introspect(fresh.access)).body).toBe('{"active":false}');
    clock.advance(-301_000);
  });

  it('§2.1: token_type_hint does not change the answer', async () => {
    const { access } = await login();
    expect((await introspect(access, { token_type_hint: 'refresh_token' })).json()).toMatchObject({ active: true });
    expect((await introspect(access, { token_type_hint: 'unknown_type' })).json()).toMatchObject({ active: true });
  });
});

describe('RFC 7009 token revocation', () => {
  const revoke = (token: string, extra: Record<string, string> = {}) => call('/oauth/revoke', { token, ...extra });

  it('§2.1: the caller must authenticate (401 invalid_client)', async () => {
    const { refresh } = await login();
    const res = await call('/oauth/revoke', { token: refresh }, null);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('§2.1: the token parameter is required (400 invalid_request)', async () => {
    const res = await call('/oauth/revoke', {});
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('§2.1: revoking a refresh token also invalidates the access tokens of its grant', async () => {
    const { access, refresh } = await login();
    const res = await revoke(refresh, { token_type_hint: 'refresh_token' });
    expect(res.statusCode).toBe(200);
    expect(accepted(auth, access)).toBe(false);
    expect((await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })).statusCode).toBe(401);
  });

  it('§2.1: revoking an access token makes it unusable at once', async () => {
    const { access } = await login();
    expect((await revoke(access, { token_type_hint: 'access_token' })).statusCode).toBe(200);
    expect(accepted(auth, access)).toBe(false);
  });

  it('§2.1: a wrong token_type_hint only orders the search: the token is still revoked', async () => {
    const { access, refresh } = await login();
    expect((await revoke(refresh, { token_type_hint: 'access_token' })).statusCode).toBe(200);
    expect(accepted(auth, access)).toBe(false);
  });

  it('§2.2: an invalid, unknown or already revoked token answers 200', async () => {
    const { refresh } = await login();
    for (const token of ['garbage', 'a.b.c', refresh, refresh]) {
      const res = await revoke(token);
      expect(res.statusCode).toBe(200);
    }
  });
});
