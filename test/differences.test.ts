import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';
import { SIGNING_KEY, clockAt, decodePayload, testServer } from './helpers.ts';
import { signLikeSimpleJwt, simpleJwtClaims } from './support/foreign-token.ts';

/** CONTRACT.md "Where revocable deliberately differs": each row over HTTP against the real server. */

const ROTATION = { rotateRefreshTokens: true, blacklistAfterRotation: true };
const BLACKLISTED_ON_PROTECTED_ROUTE = JSON.stringify({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is blacklisted' }],
});
const BLACKLISTED = JSON.stringify({ detail: 'Token is blacklisted', code: 'token_not_valid' });

let opened: { app: FastifyInstance; auth: Auth } | undefined;
afterEach(async () => {
  await opened?.app.close();
  await opened?.auth.close();
  opened = undefined;
});

async function server(settings: Record<string, unknown> = ROTATION, clock?: ReturnType<typeof clockAt>) {
  opened = await testServer({ settings, ...(clock ? { clock } : {}) });
  await opened.auth.users.create({ username: 'alice', password: 'old password' });
  return opened;
}

async function login(app: FastifyInstance, password = 'old password') {
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'alice', password } });
  expect(res.statusCode).toBe(200);
  return res.json() as { access: string; refresh: string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expectAccessRefused(app: FastifyInstance, access: string) {
  const me = await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(access) });
  expect(me.statusCode).toBe(401);
  expect(me.headers['www-authenticate']).toBe('Bearer realm="api"');
  expect(me.body).toBe(BLACKLISTED_ON_PROTECTED_ROUTE);
  const verify = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: access } });
  expect(verify.statusCode).toBe(401);
  expect(verify.body).toBe(BLACKLISTED);
}

describe('access tokens die on the very next request', () => {
  it('after their refresh token is blacklisted', async () => {
    const { app } = await server();
    const pair = await login(app);
    expect((await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) })).statusCode).toBe(200);
    const res = await app.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: pair.refresh } });
    expect(res.statusCode).toBe(200);
    await expectAccessRefused(app, pair.access);
  });

  it('after logout', async () => {
    const { app } = await server();
    const pair = await login(app);
    const other = await login(app);
    expect((await app.inject({ method: 'POST', url: '/api/logout/', headers: bearer(pair.access) })).statusCode).toBe(205);
    await expectAccessRefused(app, pair.access);
    // Logout ends this session only.
    expect((await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(other.access) })).statusCode).toBe(200);
  });

  it('after logout-all, for every session of the user', async () => {
    const { app } = await server();
    const first = await login(app);
    const second = await login(app);
    expect((await app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(first.access) })).statusCode).toBe(205);
    await expectAccessRefused(app, first.access);
    await expectAccessRefused(app, second.access);
  });

  it('after a password change, the caller included', async () => {
    const { app } = await server();
    const first = await login(app);
    const second = await login(app);
    const res = await app.inject({
      method: 'POST',
      url: '/api/password/',
      headers: bearer(first.access),
      payload: { old_password: 'old password', new_password: 'new password' },
    });
    expect(res.statusCode).toBe(200);
    await expectAccessRefused(app, first.access);
    await expectAccessRefused(app, second.access);
    await login(app, 'new password');
  });
});

describe('refresh tokens', () => {
  it('a refresh token minted by rotation dies on logout-all', async () => {
    const { app } = await server();
    const pair = await login(app);
    const rotated = (await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })).json();
    expect(Object.keys(rotated)).toEqual(['access', 'refresh']);
    await app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(rotated.access) });
    const res = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: rotated.refresh } });
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe(BLACKLISTED);
    const verify = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: rotated.refresh } });
    expect(verify.body).toBe(BLACKLISTED);
  });

  it.each([8, 100])('%i concurrent refreshes of one refresh token over HTTP: exactly one succeeds', async (concurrency) => {
    const { app } = await server();
    const pair = await login(app);
    const answers = await Promise.all(
      Array.from({ length: concurrency }, () =>
        app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(concurrency - 1);
    for (const answer of answers.filter((a) => a.statusCode === 401)) expect(answer.body).toBe(BLACKLISTED);
  });

  it('verify of a blacklisted token is 401 token_not_valid whether rotation is on or off', async () => {
    for (const settings of [ROTATION, {}]) {
      const { app, auth } = await server(settings);
      const pair = await login(app);
      await app.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: pair.refresh } });
      const res = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: pair.refresh } });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(res.body).toBe(BLACKLISTED);
      await app.close();
      await auth.close();
      opened = undefined;
    }
  });

  it('an access token minted by refresh has the time it was minted as iat', async () => {
    const clock = clockAt(0);
    const { app } = await server(ROTATION, clock);
    const pair = await login(app);
    clock.advance(120_000);
    const refreshed = (await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })).json();
    expect(decodePayload(refreshed.access).iat).toBe(Math.floor(clock() / 1000));
    expect(decodePayload(refreshed.access).iat).toBe((decodePayload(pair.refresh).iat as number) + 120);
  });

  it('a validly signed refresh token the server never issued is refused', async () => {
    const { app, auth } = await server();
    const user = (await auth.users.findByUsername('alice'))!;
    const forged = signLikeSimpleJwt(simpleJwtClaims('refresh', user.id, Math.floor(Date.now() / 1000), 86400), SIGNING_KEY);
    const res = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: forged } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ detail: 'Token is invalid or expired', code: 'token_not_valid' });
  });
});

it('never stores a raw token: no token, nor its signature, appears anywhere in the database', async () => {
  const { app, auth } = await server();
  const pair = await login(app);
  const rotated = (await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })).json();
  await app.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: rotated.refresh } });
  await app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(rotated.access) });
  await auth.settled();
  const db = (auth.store as SqlStore).db;
  const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db);
  let dump = '';
  for (const { name } of tables.rows) {
    const rows = await sql`select * from ${sql.table(name)}`.execute(db);
    dump += JSON.stringify(rows.rows);
  }
  for (const token of [pair.access, pair.refresh, rotated.access, rotated.refresh]) {
    const signature = token.split('.')[2]!;
    expect(dump).not.toContain(signature);
    expect(dump).not.toContain(token.split('.')[1]!);
  }
  expect(dump).toContain(String(decodePayload(pair.refresh).jti));
});
