import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { decodePayload, testServer } from '../helpers.ts';

/** The sessions endpoints: `GET /api/sessions/`, `DELETE /api/sessions/{id}/`, `POST /api/logout/others/`. */

let app: FastifyInstance;
let auth: Auth;
beforeAll(async () => {
  ({ app, auth } = await testServer({ settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } }));
  await auth.users.create({ username: 'alice', password: 'pw' });
  await auth.users.create({ username: 'bob', password: 'pw' });
});
afterAll(async () => {
  await app.close();
  await auth.close();
});

async function login(username: string, userAgent: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/token/',
    payload: { username, password: 'pw' },
    headers: { 'user-agent': userAgent },
  });
  const pair = res.json() as { access: string; refresh: string };
  return { ...pair, sid: String(decodePayload(pair.access).sid) };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const me = async (access: string) => (await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(access) })).statusCode;

describe('sessions endpoints', () => {
  it("lists the caller's live sessions, marking the current one, and no one else's", async () => {
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    await login('bob', 'bob-phone');
    const res = await app.inject({ method: 'GET', url: '/api/sessions/', headers: bearer(phone.access) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const sessions = res.json() as Record<string, unknown>[];
    expect(sessions.map((session) => session.id).sort()).toEqual([phone.sid, laptop.sid].sort());
    const current = sessions.find((session) => session.id === phone.sid)!;
    expect(Object.keys(current)).toEqual(['id', 'created', 'last_used', 'user_agent', 'ip', 'current']);
    expect(current).toMatchObject({ user_agent: 'phone', ip: '127.0.0.1', current: true });
    expect(new Date(String(current.created)).toISOString()).toBe(current.created);
    expect(sessions.find((session) => session.id === laptop.sid)).toMatchObject({ user_agent: 'laptop', current: false });
    await auth.revokeAllForUser((await auth.users.findByUsername('alice'))!.id);
  });

  it('deleting one of my sessions kills its access token on the next request (204)', async () => {
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    const res = await app.inject({ method: 'DELETE', url: `/api/sessions/${laptop.sid}/`, headers: bearer(phone.access) });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await me(laptop.access)).toBe(401);
    expect(await me(phone.access)).toBe(200);
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: laptop.refresh } });
    expect(refreshed.statusCode).toBe(401);
    // Gone from the listing; deleting it again is 404.
    const listed = (await app.inject({ method: 'GET', url: '/api/sessions/', headers: bearer(phone.access) })).json();
    expect(listed.map((session: { id: string }) => session.id)).not.toContain(laptop.sid);
    const again = await app.inject({ method: 'DELETE', url: `/api/sessions/${laptop.sid}/`, headers: bearer(phone.access) });
    expect(again.statusCode).toBe(404);
  });

  it("deleting another user's session is 404, exactly like one that does not exist, and leaves it alive", async () => {
    const alice = await login('alice', 'phone');
    const bob = await login('bob', 'bob-phone');
    const theirs = await app.inject({ method: 'DELETE', url: `/api/sessions/${bob.sid}/`, headers: bearer(alice.access) });
    const unknown = await app.inject({ method: 'DELETE', url: '/api/sessions/no-such-session/', headers: bearer(alice.access) });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.body).toBe(unknown.body);
    expect(theirs.body).toBe('{"detail":"Not found.","code":"not_found"}');
    expect(await me(bob.access)).toBe(200);
  });

  it("logout-others keeps the caller's session alive and kills the rest (205)", async () => {
    const keep = await login('alice', 'phone');
    const others = [await login('alice', 'laptop'), await login('alice', 'tablet')];
    const bob = await login('bob', 'bob-phone');
    const res = await app.inject({ method: 'POST', url: '/api/logout/others/', headers: bearer(keep.access) });
    expect(res.statusCode).toBe(205);
    expect(res.body).toBe('');
    expect(await me(keep.access)).toBe(200);
    for (const other of others) expect(await me(other.access)).toBe(401);
    expect(await me(bob.access)).toBe(200);
    const listed = (await app.inject({ method: 'GET', url: '/api/sessions/', headers: bearer(keep.access) })).json();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: keep.sid, current: true });
    const rotated = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: keep.refresh } });
    expect(rotated.statusCode).toBe(200);
  });

  it('needs authentication and answers 405 to other methods', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/api/sessions/' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="api"');
    const alice = await login('alice', 'phone');
    const wrong = await app.inject({ method: 'POST', url: '/api/sessions/', headers: bearer(alice.access) });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.body).toBe('{"detail":"Method \\"POST\\" not allowed."}');
    const get = await app.inject({ method: 'GET', url: `/api/sessions/${alice.sid}/`, headers: bearer(alice.access) });
    expect(get.statusCode).toBe(405);
    const others = await app.inject({ method: 'GET', url: '/api/logout/others/', headers: bearer(alice.access) });
    expect(others.statusCode).toBe(405);
  });
});

describe('user lifecycle over HTTP', () => {
  it("deactivating a user refuses the user's live access tokens on the next request", async () => {
    await auth.users.create({ username: 'dora', password: 'pw' });
    const dora = await login('dora', 'phone');
    expect(await me(dora.access)).toBe(200);
    await auth.users.setActive((await auth.users.findByUsername('dora'))!.id, false);
    const res = await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(dora.access) });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'token_not_valid', messages: [{ message: 'Token is blacklisted' }] });
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: dora.refresh } });
    expect(refreshed.statusCode).toBe(401);
  });
});
