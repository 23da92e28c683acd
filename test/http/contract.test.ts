/**
 * The wire contract (/work/shared/CONTRACT.md), row by row, over HTTP against the real Fastify server.
 * Bodies are compared as exact strings: key order is part of the contract.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { clockAt, testServer } from '../helpers.ts';
import {
  BAD_HEADER,
  BLACKLISTED,
  BLANK,
  INVALID,
  NO_ACCOUNT,
  NO_EXP,
  NO_ID,
  NOT_PROVIDED,
  REQUIRED,
  WRONG_TYPE,
  algNone,
  badSignature,
  bearer,
  claimsFor,
  expectAnswer,
  expectAuthenticateHeader,
  login,
  otherAlgorithm,
  otherKey,
  postJson,
  protectedRouteError,
  segments,
  signToken,
  tamperedPayload,
  tokenError,
  without,
} from './support.ts';

const PASSWORD = 'correct horse battery staple';

/** One server per describe block, closed afterwards; `user()` makes a fresh user for each test. */
function useServer(options: Parameters<typeof testServer>[0] = {}) {
  const ctx = {} as { app: FastifyInstance; auth: Auth };
  let n = 0;
  beforeAll(async () => {
    Object.assign(ctx, await testServer(options));
  });
  afterAll(async () => {
    await ctx.app?.close();
    await ctx.auth?.close();
  });
  return {
    get app() {
      return ctx.app;
    },
    get auth() {
      return ctx.auth;
    },
    async user(prefix = 'user') {
      n += 1;
      const username = `${prefix}${n}`;
      const user = await ctx.auth.users.create({ username, password: PASSWORD });
      return { ...user, username, password: PASSWORD };
    },
  };
}

describe('POST /api/token/', () => {
  const s = useServer();

  it('200 {"refresh","access"} on good credentials', async () => {
    const u = await s.user();
    const res = await postJson(s.app, '/api/token/', { username: u.username, password: u.password });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expectAuthenticateHeader(res);
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['refresh', 'access']);
    expect(body.refresh).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body.access).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(res.body).toBe(`{"refresh":"${body.refresh}","access":"${body.access}"}`);
  });

  it('401 on a wrong password', async () => {
    const u = await s.user();
    const res = await postJson(s.app, '/api/token/', { username: u.username, password: 'wrong password' });
    expectAnswer(res, 401, NO_ACCOUNT);
  });

  it('401 on an unknown user', async () => {
    const res = await postJson(s.app, '/api/token/', { username: 'nobody-at-all', password: PASSWORD });
    expectAnswer(res, 401, NO_ACCOUNT);
  });

  it('401 on an inactive user (right password)', async () => {
    const u = await s.user();
    await s.auth.store.updateUser(u.id, { isActive: false });
    const res = await postJson(s.app, '/api/token/', { username: u.username, password: u.password });
    expectAnswer(res, 401, NO_ACCOUNT);
  });

  it('400 on missing fields, each failing field listed, in order', async () => {
    expectAnswer(await postJson(s.app, '/api/token/', {}), 400, { username: [REQUIRED], password: [REQUIRED] });
    expectAnswer(await postJson(s.app, '/api/token/', { username: 'x' }), 400, { password: [REQUIRED] });
    expectAnswer(await postJson(s.app, '/api/token/', { password: 'x' }), 400, { username: [REQUIRED] });
  });

  it('400 on blank fields, only the failing ones', async () => {
    expectAnswer(await postJson(s.app, '/api/token/', { username: '', password: '' }), 400, {
      username: [BLANK],
      password: [BLANK],
    });
    expectAnswer(await postJson(s.app, '/api/token/', { username: '   ', password: 'x' }), 400, { username: [BLANK] });
    expectAnswer(await postJson(s.app, '/api/token/', { username: 'x', password: '' }), 400, { password: [BLANK] });
  });

  it('400 {"detail":"JSON parse error - …"} on malformed JSON', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "a", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    expectAuthenticateHeader(res);
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['detail']);
    expect(body.detail).toMatch(/^JSON parse error - ./);
  });

  it('400 non_field_errors on JSON that is not an object ([])', async () => {
    expectAnswer(await postJson(s.app, '/api/token/', []), 400, {
      non_field_errors: ['Invalid data. Expected a dictionary, but got list.'],
    });
  });

  it('415 on an unsupported content type (text/plain)', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: { 'content-type': 'text/plain' },
      payload: 'username=a&password=b',
    });
    expectAnswer(res, 415, { detail: 'Unsupported media type "text/plain" in request.' });
  });

  it('accepts application/x-www-form-urlencoded like JSON', async () => {
    const u = await s.user('form user ');
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: u.username, password: u.password }).toString(),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(Object.keys(res.json() as object)).toEqual(['refresh', 'access']);
  });

  it('form-urlencoded with missing fields is the same 400', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=',
    });
    expectAnswer(res, 400, { username: [BLANK], password: [REQUIRED] });
  });

  it('405 on GET /api/token/', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/api/token/' });
    expectAnswer(res, 405, { detail: 'Method "GET" not allowed.' });
  });
});

describe('POST /api/token/refresh/ with rotation on', () => {
  const s = useServer({ settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } });

  it('200 {"access","refresh"}, and the old refresh token is then blacklisted', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const res = await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json() as Record<string, string>;
    expect(Object.keys(body)).toEqual(['access', 'refresh']);
    expect(res.body).toBe(`{"access":"${body.access}","refresh":"${body.refresh}"}`);
    expect(body.refresh).not.toBe(pair.refresh);
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(body.access!) }), 200, {
      id: u.id,
      username: u.username,
    });
    expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh }), 401, tokenError(BLACKLISTED));
  });
});

describe('POST /api/token/refresh/ with rotation off', () => {
  const s = useServer({ settings: { rotateRefreshTokens: false } });

  it('200 {"access"} only', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const res = await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json() as Record<string, string>;
    expect(Object.keys(body)).toEqual(['access']);
    expect(res.body).toBe(`{"access":"${body.access}"}`);
    // The same refresh token keeps working without rotation.
    expect((await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh })).statusCode).toBe(200);
  });

  it('access token minted by refresh has iat = time of minting and the full claim set', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const res = await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh });
    const claims = JSON.parse(segments((res.json() as { access: string }).access).payload);
    expect(claims).toMatchObject({ token_type: 'access', user_id: u.id });
    expect(claims.exp - claims.iat).toBe(300);
  });
});

describe('POST /api/token/verify/', () => {
  const s = useServer();

  it('200 {} for a valid access token and a valid refresh token', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.access }), 200, {});
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.refresh }), 200, {});
  });
});

describe('POST /api/token/blacklist/', () => {
  const s = useServer();

  it('200 {} without authentication; the token is then blacklisted everywhere', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await postJson(s.app, '/api/token/blacklist/', { refresh: pair.refresh }), 200, {});
    expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh }), 401, tokenError(BLACKLISTED));
    expectAnswer(await postJson(s.app, '/api/token/blacklist/', { refresh: pair.refresh }), 401, tokenError(BLACKLISTED));
    // revocable does better: verify refuses it with a 401, and the session's access token dies at once.
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.refresh }), 401, tokenError(BLACKLISTED));
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.access }), 401, tokenError(BLACKLISTED));
    expectAnswer(
      await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) }),
      401,
      protectedRouteError(BLACKLISTED),
    );
  });
});

describe('missing and blank body fields on refresh / verify / blacklist', () => {
  const s = useServer();
  const rows = [
    ['/api/token/refresh/', 'refresh'],
    ['/api/token/verify/', 'token'],
    ['/api/token/blacklist/', 'refresh'],
  ] as const;

  it.each(rows)('%s: 400 {"%s":["This field is required."]}', async (url, field) => {
    expectAnswer(await postJson(s.app, url, {}), 400, { [field]: [REQUIRED] });
    expectAnswer(await postJson(s.app, url, { other: 'x' }), 400, { [field]: [REQUIRED] });
  });

  it.each(rows)('%s: 400 {"%s":["This field may not be blank."]}', async (url, field) => {
    expectAnswer(await postJson(s.app, url, { [field]: '' }), 400, { [field]: [BLANK] });
  });
});

describe('token errors: every <message> on refresh, verify, blacklist and a protected route', () => {
  const s = useServer();
  let userId: number;
  let pair: { refresh: string; access: string };

  beforeAll(async () => {
    const u = await s.user();
    userId = u.id;
    pair = await login(s.app, u.username, u.password);
  });

  /** The token to send for a case: built from a fresh pair of the right type. */
  type Make = (type: 'access' | 'refresh') => string;
  const tokenOf = (type: 'access' | 'refresh') => (type === 'access' ? pair.access : pair.refresh);
  const invalidCases: [string, Make][] = [
    ['bad signature', (type) => badSignature(tokenOf(type))],
    ['garbage', () => 'garbage'],
    ['garbage with three segments', () => 'not.a.token'],
    ['alg: none', (type) => algNone(tokenOf(type))],
    ['another key', (type) => otherKey(tokenOf(type))],
    ['another algorithm (HS512, same key)', (type) => otherAlgorithm(tokenOf(type))],
    ['tampered payload', (type) => tamperedPayload(tokenOf(type), { user_id: userId + 1000 })],
  ];
  const claimCases: [string, Make, string][] = [
    ['no exp claim', (type) => signToken(without(claimsFor(type, userId), 'exp')), NO_EXP],
    ['no jti claim', (type) => signToken(without(claimsFor(type, userId), 'jti')), NO_ID],
  ];

  describe.each(['/api/token/refresh/', '/api/token/blacklist/'] as const)('%s', (url) => {
    it.each(invalidCases)(`401 "${INVALID}": %s`, async (_name, make) => {
      expectAnswer(await postJson(s.app, url, { refresh: make('refresh') }), 401, tokenError(INVALID));
    });
    it.each(claimCases)('401 %s', async (_name, make, message) => {
      expectAnswer(await postJson(s.app, url, { refresh: make('refresh') }), 401, tokenError(message));
    });
    it(`401 "${WRONG_TYPE}" for an access token`, async () => {
      expectAnswer(await postJson(s.app, url, { refresh: pair.access }), 401, tokenError(WRONG_TYPE));
    });
  });

  describe('/api/token/verify/', () => {
    it.each(invalidCases)(`401 "${INVALID}": %s`, async (_name, make) => {
      for (const type of ['access', 'refresh'] as const) {
        expectAnswer(await postJson(s.app, '/api/token/verify/', { token: make(type) }), 401, tokenError(INVALID));
      }
    });
    it.each(claimCases)('401 %s', async (_name, make, message) => {
      for (const type of ['access', 'refresh'] as const) {
        expectAnswer(await postJson(s.app, '/api/token/verify/', { token: make(type) }), 401, tokenError(message));
      }
    });
  });

  describe('GET /api/me/ (protected route)', () => {
    it.each(invalidCases)(`401 "${INVALID}": %s`, async (_name, make) => {
      const res = await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(make('access')) });
      expectAnswer(res, 401, protectedRouteError(INVALID));
    });
    it.each(claimCases)('401 %s', async (_name, make, message) => {
      const res = await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(make('access')) });
      expectAnswer(res, 401, protectedRouteError(message));
    });
    it(`401 "${WRONG_TYPE}" for a refresh token`, async () => {
      const res = await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.refresh) });
      expectAnswer(res, 401, protectedRouteError(WRONG_TYPE));
    });
    it('the untouched pair still works (the cases above revoked nothing)', async () => {
      const res = await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) });
      expect(res.statusCode).toBe(200);
    });
  });
});

describe('expired tokens (injected clock)', () => {
  const clock = clockAt();
  const s = useServer({ clock });

  it(`401 "${INVALID}" once the access token expires, and on refresh once the refresh token expires`, async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expect((await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) })).statusCode).toBe(200);

    clock.advance(301_000);
    expectAnswer(
      await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) }),
      401,
      protectedRouteError(INVALID),
    );
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.access }), 401, tokenError(INVALID));
    // The refresh token is still alive.
    expect((await postJson(s.app, '/api/token/verify/', { token: pair.refresh })).statusCode).toBe(200);

    clock.advance(86_400_000);
    expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh }), 401, tokenError(INVALID));
    expectAnswer(await postJson(s.app, '/api/token/verify/', { token: pair.refresh }), 401, tokenError(INVALID));
    expectAnswer(await postJson(s.app, '/api/token/blacklist/', { refresh: pair.refresh }), 401, tokenError(INVALID));
  });

  it('a token is refused at exactly its exp second and accepted one second before', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const exp = JSON.parse(segments(pair.access).payload).exp as number;
    clock.set(exp * 1000 - 1000);
    expect((await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) })).statusCode).toBe(200);
    clock.set(exp * 1000);
    expectAnswer(
      await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) }),
      401,
      protectedRouteError(INVALID),
    );
  });
});

describe('protected-route authentication header', () => {
  const s = useServer();
  let u: Awaited<ReturnType<typeof s.user>>;
  let pair: { refresh: string; access: string };

  beforeAll(async () => {
    u = await s.user();
    pair = await login(s.app, u.username, u.password);
  });

  const me = (authorization?: string) =>
    s.app.inject({ method: 'GET', url: '/api/me/', headers: authorization === undefined ? {} : { authorization } });

  it('401 not provided without an Authorization header', async () => {
    expectAnswer(await me(), 401, NOT_PROVIDED);
  });

  it.each([
    ['Token', (t: string) => `Token ${t}`],
    ['JWT', (t: string) => `JWT ${t}`],
    ['Basic', () => `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['lowercase bearer', (t: string) => `bearer ${t}`],
    ['a bare token', (t: string) => t],
    ['an empty header', () => ''],
  ])('401 not provided for another scheme: %s', async (_name, header) => {
    expectAnswer(await me(header(pair.access)), 401, NOT_PROVIDED);
  });

  it('401 bad_authorization_header for "Bearer" alone (1 part)', async () => {
    expectAnswer(await me('Bearer'), 401, BAD_HEADER);
    expectAnswer(await me('Bearer '), 401, BAD_HEADER);
  });

  it('401 bad_authorization_header for "Bearer a b" (3 parts)', async () => {
    expectAnswer(await me(`Bearer ${pair.access} extra`), 401, BAD_HEADER);
    expectAnswer(await me('Bearer a b c'), 401, BAD_HEADER);
  });

  it('accepts "Bearer  <token>" with two spaces (split on whitespace)', async () => {
    expectAnswer(await me(`Bearer  ${pair.access}`), 200, { id: u.id, username: u.username });
    expectAnswer(await me(`Bearer \t${pair.access}`), 200, { id: u.id, username: u.username });
  });

  it('401 user_not_found for a valid token whose user was deleted', async () => {
    const gone = await s.user('gone');
    const tokens = await login(s.app, gone.username, gone.password);
    await s.auth.store.deleteUser(gone.id);
    expectAnswer(await me(`Bearer ${tokens.access}`), 401, { detail: 'User not found', code: 'user_not_found' });
  });

  it('401 user_inactive for a valid token whose user is inactive', async () => {
    const idle = await s.user('idle');
    const tokens = await login(s.app, idle.username, idle.password);
    await s.auth.store.updateUser(idle.id, { isActive: false });
    expectAnswer(await me(`Bearer ${tokens.access}`), 401, { detail: 'User is inactive', code: 'user_inactive' });
  });

  it('401 for a valid token without the user id claim', async () => {
    const token = signToken(without(claimsFor('access', u.id), 'user_id'));
    expectAnswer(await me(`Bearer ${token}`), 401, {
      detail: 'Token contained no recognizable user identification',
      code: 'token_not_valid',
    });
  });
});

describe('token format', () => {
  const clock = clockAt(250);
  const s = useServer({ clock });

  it('header {"alg":"HS256","typ":"JWT"}; claims token_type, exp, iat, jti, user_id (a number)', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const nowSeconds = Math.floor(clock() / 1000);
    const jtis = new Set<string>();
    for (const [type, token, lifetime] of [
      ['refresh', pair.refresh, 86400],
      ['access', pair.access, 300],
    ] as const) {
      const { header, payload } = segments(token);
      expect(header).toBe('{"alg":"HS256","typ":"JWT"}');
      const claims = JSON.parse(payload) as Record<string, unknown>;
      expect(claims.token_type).toBe(type);
      expect(claims.iat).toBe(nowSeconds);
      expect(claims.exp).toBe(nowSeconds + lifetime);
      expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
      expect(typeof claims.user_id).toBe('number');
      expect(claims.user_id).toBe(u.id);
      expect(payload).toContain(`"user_id":${u.id}`);
      jtis.add(claims.jti as string);
    }
    expect(jtis.size).toBe(2);
  });
});

describe('GET /api/me/', () => {
  const s = useServer();

  it('200 {"id","username"}', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const res = await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) });
    expectAnswer(res, 200, { id: u.id, username: u.username });
  });

  it('401 without credentials', async () => {
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/me/' }), 401, NOT_PROVIDED);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('405 on %s', async (method) => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const res = await s.app.inject({ method, url: '/api/me/', headers: bearer(pair.access) });
    expectAnswer(res, 405, { detail: `Method "${method}" not allowed.` });
  });
});

describe('POST /api/logout/', () => {
  const s = useServer();

  it('205 with an empty body; then the access and refresh tokens of that session are refused', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const other = await login(s.app, u.username, u.password);
    const res = await s.app.inject({ method: 'POST', url: '/api/logout/', headers: bearer(pair.access) });
    expect(res.statusCode).toBe(205);
    expect(res.body).toBe('');
    expect(res.headers['www-authenticate']).toBeUndefined();

    expectAnswer(
      await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) }),
      401,
      protectedRouteError(BLACKLISTED),
    );
    expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh }), 401, tokenError(BLACKLISTED));
    expectAnswer(
      await s.app.inject({ method: 'POST', url: '/api/logout/', headers: bearer(pair.access) }),
      401,
      protectedRouteError(BLACKLISTED),
    );
    // Another session of the same user is untouched.
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(other.access) }), 200, {
      id: u.id,
      username: u.username,
    });
  });

  it('401 without credentials; 405 on GET', async () => {
    expectAnswer(await s.app.inject({ method: 'POST', url: '/api/logout/' }), 401, NOT_PROVIDED);
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/logout/', headers: bearer(pair.access) }), 405, {
      detail: 'Method "GET" not allowed.',
    });
  });
});

describe('POST /api/logout-all/', () => {
  const s = useServer();

  it('205 with an empty body; every token of the user is refused; calling it again is harmless', async () => {
    const u = await s.user();
    const first = await login(s.app, u.username, u.password);
    const second = await login(s.app, u.username, u.password);
    const res = await s.app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(first.access) });
    expect(res.statusCode).toBe(205);
    expect(res.body).toBe('');

    for (const pair of [first, second]) {
      expectAnswer(
        await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) }),
        401,
        protectedRouteError(BLACKLISTED),
      );
      expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: pair.refresh }), 401, tokenError(BLACKLISTED));
    }

    // Log in again and call it a second time: still 205, and the fresh tokens die too.
    const third = await login(s.app, u.username, u.password);
    expect((await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(third.access) })).statusCode).toBe(200);
    const again = await s.app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(third.access) });
    expect(again.statusCode).toBe(205);
    expect(again.body).toBe('');
    expectAnswer(
      await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(third.access) }),
      401,
      protectedRouteError(BLACKLISTED),
    );
    // And the user can still log in afterwards.
    const fourth = await login(s.app, u.username, u.password);
    expect((await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(fourth.access) })).statusCode).toBe(200);
  });

  it('does not touch other users', async () => {
    const a = await s.user();
    const b = await s.user();
    const pa = await login(s.app, a.username, a.password);
    const pb = await login(s.app, b.username, b.password);
    expect((await s.app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(pa.access) })).statusCode).toBe(205);
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pb.access) }), 200, {
      id: b.id,
      username: b.username,
    });
  });

  it('405 on GET; 401 without credentials', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/logout-all/', headers: bearer(pair.access) }), 405, {
      detail: 'Method "GET" not allowed.',
    });
    expectAnswer(await s.app.inject({ method: 'POST', url: '/api/logout-all/' }), 401, NOT_PROVIDED);
  });
});

describe('POST /api/password/', () => {
  const s = useServer();
  const change = (access: string, body: unknown) => postJson(s.app, '/api/password/', body, bearer(access));

  it('400 on missing fields, only the failing ones', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await change(pair.access, {}), 400, { old_password: [REQUIRED], new_password: [REQUIRED] });
    expectAnswer(await change(pair.access, { old_password: u.password }), 400, { new_password: [REQUIRED] });
    expectAnswer(await change(pair.access, { new_password: 'new password 123' }), 400, { old_password: [REQUIRED] });
    expectAnswer(await change(pair.access, { old_password: '', new_password: 'x' }), 400, { old_password: [BLANK] });
  });

  it('400 {"old_password":["Wrong password."]}; nothing changes', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    expectAnswer(await change(pair.access, { old_password: 'not it', new_password: 'new password 123' }), 400, {
      old_password: ['Wrong password.'],
    });
    expect((await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(pair.access) })).statusCode).toBe(200);
    await login(s.app, u.username, u.password);
  });

  it('401 without credentials', async () => {
    expectAnswer(await postJson(s.app, '/api/password/', { old_password: 'a', new_password: 'b' }), 401, NOT_PROVIDED);
  });

  it('200 {"detail":"Password changed."}; every token is refused; the new password logs in, the old does not', async () => {
    const u = await s.user();
    const pair = await login(s.app, u.username, u.password);
    const other = await login(s.app, u.username, u.password);
    const newPassword = 'a brand new password';
    expectAnswer(await change(pair.access, { old_password: u.password, new_password: newPassword }), 200, {
      detail: 'Password changed.',
    });
    for (const p of [pair, other]) {
      expectAnswer(
        await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(p.access) }),
        401,
        protectedRouteError(BLACKLISTED),
      );
      expectAnswer(await postJson(s.app, '/api/token/refresh/', { refresh: p.refresh }), 401, tokenError(BLACKLISTED));
    }
    expectAnswer(await postJson(s.app, '/api/token/', { username: u.username, password: u.password }), 401, NO_ACCOUNT);
    const fresh = await login(s.app, u.username, newPassword);
    expectAnswer(await s.app.inject({ method: 'GET', url: '/api/me/', headers: bearer(fresh.access) }), 200, {
      id: u.id,
      username: u.username,
    });
  });
});
