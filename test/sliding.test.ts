import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { clockAt, decodePayload, testServer } from './helpers.ts';

/** Simple JWT's sliding tokens: `POST /api/token/sliding/` and `POST /api/token/sliding/refresh/`. */

let opened: { app: FastifyInstance; auth: Auth } | undefined;
afterEach(async () => {
  await opened?.app.close();
  await opened?.auth.close();
  opened = undefined;
});

async function server(settings: Record<string, unknown> = {}) {
  const clock = clockAt(0);
  opened = await testServer({ clock, settings: { authTokenTypes: ['access', 'sliding'], ...settings } });
  await opened.auth.users.create({ username: 'alice', password: 'pw' });
  return { ...opened, clock };
}

const obtain = (app: FastifyInstance) =>
  app.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'alice', password: 'pw' } });
const slide = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'POST', url: '/api/token/sliding/refresh/', payload: { token } });
const me = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/api/me/', headers: { authorization: `Bearer ${token}` } });

describe('sliding tokens', () => {
  it('obtain: {"token"} with token_type sliding, exp and refresh_exp', async () => {
    const { app, clock } = await server();
    const res = await obtain(app);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json())).toEqual(['token']);
    const claims = decodePayload(res.json().token);
    const now = Math.floor(clock() / 1000);
    expect(claims).toMatchObject({ token_type: 'sliding', iat: now, exp: now + 300, refresh_exp: now + 86400 });
    expect((await me(app, res.json().token)).statusCode).toBe(200);
    const bad = await app.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'alice', password: 'x' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toBe('{"detail":"No active account found with the given credentials"}');
  });

  it('refresh within refresh_exp: a new exp and iat, the same jti and refresh_exp', async () => {
    const { app, clock } = await server();
    const token = (await obtain(app)).json().token;
    clock.advance(240_000);
    const res = await slide(app, token);
    expect(res.statusCode).toBe(200);
    const before = decodePayload(token);
    const after = decodePayload(res.json().token);
    expect(after.exp).toBe(Math.floor(clock() / 1000) + 300);
    expect(after.iat).toBe(Math.floor(clock() / 1000));
    expect(after.jti).toBe(before.jti);
    expect(after.refresh_exp).toBe(before.refresh_exp);
  });

  it('an expired sliding token cannot be refreshed (as in Simple JWT, exp is checked first)', async () => {
    const { app, clock } = await server();
    const token = (await obtain(app)).json().token;
    clock.advance(300_000);
    const res = await slide(app, token);
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe('{"detail":"Token is invalid or expired","code":"token_not_valid"}');
  });

  it('refused after refresh_exp', async () => {
    const { app, clock } = await server({ slidingTokenLifetime: '2d', slidingTokenRefreshLifetime: '1d' });
    const token = (await obtain(app)).json().token;
    clock.advance(86_400_000);
    const res = await slide(app, token);
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe(`{"detail":"Token 'refresh_exp' claim has expired","code":"token_not_valid"}`);
  });

  it('a blacklisted sliding token is refused, on refresh and on protected routes, with every version of it', async () => {
    const { app, auth, clock } = await server();
    const first = (await obtain(app)).json().token;
    clock.advance(60_000);
    const second = (await slide(app, first)).json().token;
    await auth.blacklist(first, 'sliding');
    for (const token of [first, second]) {
      const refreshed = await slide(app, token);
      expect(refreshed.statusCode).toBe(401);
      expect(refreshed.json()).toEqual({ detail: 'Token is blacklisted', code: 'token_not_valid' });
      expect((await me(app, token)).statusCode).toBe(401);
    }
  });

  it('revoke-all and logout reach sliding tokens too', async () => {
    const { app, auth } = await server();
    const token = (await obtain(app)).json().token;
    const other = (await obtain(app)).json().token;
    expect((await app.inject({ method: 'POST', url: '/api/logout/', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(205);
    expect((await me(app, token)).statusCode).toBe(401);
    expect((await me(app, other)).statusCode).toBe(200);
    await auth.revokeAllForUser((await auth.users.findByUsername('alice'))!.id);
    expect((await slide(app, other)).json()).toEqual({ detail: 'Token is blacklisted', code: 'token_not_valid' });
  });

  it('is not accepted on protected routes unless authTokenTypes includes it, as AUTH_TOKEN_CLASSES', async () => {
    const { app } = await server({ authTokenTypes: ['access'] });
    const token = (await obtain(app)).json().token;
    const res = await me(app, token);
    expect(res.statusCode).toBe(401);
    expect(res.json().messages).toEqual([{ token_class: 'AccessToken', token_type: 'access', message: 'Token has wrong type' }]);
  });
});
