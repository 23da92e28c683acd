/**
 * The admin pages over `app.inject` (no browser): security headers on every response, the cookies'
 * flags, CSRF and origin refusals, staff only, escaping, no token in any page, the session's end
 * (logout, revocation from elsewhere, losing staff), and what the buttons do, audit trail included.
 * The browser walk-through is admin.browser.test.ts.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/admin/security.ts';
import type { Auth } from '../../src/auth.ts';
import { buildServer } from '../../src/http/fastify.ts';
import type { User } from '../../src/users/users.ts';
import { accepted, testAuth } from '../helpers.ts';
import { bearer, login } from '../http/support.ts';
import {
  type AdminSession,
  adminLogin,
  cookiePair,
  csrfOf,
  getPage,
  openLogin,
  postForm,
  setCookie,
  submitLogin,
} from './support.ts';

const PASSWORD = 'correct horse battery';
const REFUSED_LOGIN = 'Please enter the correct username and password for a staff account.';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: { trustProxy?: boolean; settings?: Parameters<typeof testAuth>[0] } = {}) {
  const auth = await testAuth(options.settings);
  const app = await buildServer(auth, options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy });
  closers.push(
    () => auth.close(),
    () => app.close(),
  );
  return { auth, app };
}

function expectSecurityHeaders(res: LightMyRequestResponse, what: string): void {
  expect(res.headers['content-security-policy'], what).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['referrer-policy'], what).toBe('same-origin');
  expect(res.headers['cache-control'], what).toBe('no-store');
  expect(res.headers['x-frame-options'], what).toBe('DENY');
}

describe('the admin pages', () => {
  let auth: Auth;
  let app: FastifyInstance;
  let staff: User;
  let alice: User;
  let evil: User;
  let admin: AdminSession;
  /** Every page body served in this block, checked at the end for tokens. */
  const bodies: string[] = [];
  const seen = (res: LightMyRequestResponse) => {
    bodies.push(res.body);
    return res;
  };

  beforeAll(async () => {
    ({ auth, app } = await server());
    staff = await auth.users.create({ username: 'root', password: PASSWORD, isStaff: true });
    alice = await auth.users.create({ username: 'alice', password: PASSWORD });
    evil = await auth.users.create({ username: '<script>alert(1)</script>', password: PASSWORD });
    for (let index = 0; index < 30; index++) await auth.users.create({ username: `bulk-${String(index).padStart(2, '0')}`, password: 'x' });
    admin = await adminLogin(app, 'root', PASSWORD);
  });

  it('sends every page, redirect, refusal and the stylesheet with the CSP and security headers', async () => {
    const responses: [string, LightMyRequestResponse][] = [
      ['login', await app.inject({ url: '/admin/login' })],
      ['overview', await getPage(app, admin, '/admin/')],
      ['overview without slash', await getPage(app, admin, '/admin')],
      ['users', await getPage(app, admin, '/admin/users?q=ali')],
      ['user', await getPage(app, admin, `/admin/users/${alice.id}`)],
      ['revocations', await getPage(app, admin, '/admin/revocations')],
      ['stylesheet', await app.inject({ url: '/admin/static/admin.css' })],
      ['redirect to login', await getPage(app, undefined, '/admin/users')],
      ['unknown page', await getPage(app, admin, '/admin/nowhere')],
      ['unknown user', await getPage(app, admin, '/admin/users/999999')],
      ['csrf refusal', await postForm(app, `/admin/users/${alice.id}/revoke-all`, {}, { cookie: admin.cookie })],
      ['action redirect', await postForm(app, `/admin/users/${alice.id}/activate`, { csrf: admin.csrf }, { cookie: admin.cookie })],
      ['refused login', await submitLogin(app, 'alice', 'wrong')],
      ['bad body', await app.inject({ method: 'POST', url: '/admin/logout', headers: { cookie: admin.cookie, 'content-type': 'application/json' }, payload: '{}' })],
      ['body too large', await postForm(app, '/admin/login', { csrf: 'x', username: 'x'.repeat(2 * 1024 * 1024) })],
    ];
    for (const [what, res] of responses) {
      seen(res);
      expectSecurityHeaders(res, what);
    }
    const statuses = Object.fromEntries(responses.map(([what, res]) => [what, res.statusCode]));
    expect(statuses).toEqual({
      login: 200,
      overview: 200,
      'overview without slash': 200,
      users: 200,
      user: 200,
      revocations: 200,
      stylesheet: 200,
      'redirect to login': 303,
      'unknown page': 404,
      'unknown user': 404,
      'csrf refusal': 403,
      'action redirect': 303,
      'refused login': 403,
      'bad body': 400,
      'body too large': 413,
    });
    for (const [what, res] of responses) {
      if (what === 'stylesheet') expect(res.headers['content-type']).toBe('text/css; charset=utf-8');
      else if (res.statusCode !== 303) expect(res.headers['content-type'], what).toBe('text/html; charset=utf-8');
    }
  });

  it('has no script, no inline style and no inline event handler in any page', async () => {
    for (const url of ['/admin/', '/admin/users', `/admin/users/${alice.id}`, '/admin/revocations']) {
      const body = seen(await getPage(app, admin, url)).body;
      expect(body).not.toMatch(/<script|\sstyle=|\son[a-z]+=|javascript:/i);
    }
  });

  it('sends anyone without a staff session to the login, and refuses their posts', async () => {
    for (const url of ['/admin/', '/admin/users', `/admin/users/${alice.id}`, '/admin/revocations']) {
      const res = await getPage(app, undefined, url);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/admin/login');
    }
    const res = seen(await postForm(app, `/admin/users/${alice.id}/revoke-all`, { csrf: admin.csrf }));
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Session ended');
  });

  it('refuses a non-staff user and an inactive staff user with the message a wrong password gets, and revokes the session the login started', async () => {
    const wrong = seen(await submitLogin(app, 'root', 'wrong password'));
    const unknown = seen(await submitLogin(app, 'nobody', PASSWORD));
    const notStaff = seen(await submitLogin(app, 'alice', PASSWORD));
    await auth.users.create({ username: 'former', password: PASSWORD, isStaff: true, isActive: false });
    const inactive = seen(await submitLogin(app, 'former', PASSWORD));
    for (const res of [wrong, unknown, notStaff, inactive]) {
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain(REFUSED_LOGIN);
      expect(setCookie(res, 'revocable_admin')).toBeUndefined();
    }
    // The same page but for the username typed again and the login form's token (each form has its own).
    const normalized = (body: string) => body.replace(/value="(root|nobody|alice|former)"/, '').replace(/name="csrf" value="[^"]*"/, '');
    expect(normalized(notStaff.body)).toBe(normalized(wrong.body));
    expect(normalized(inactive.body)).toBe(normalized(unknown.body));
    expect(await auth.listSessions(alice.id)).toEqual([]);
    await auth.settled();
    const refused = await auth.audit.list({ userId: String(alice.id), limit: 5 });
    expect(refused.map((line) => [line.action, line.reason])).toContainEqual(['session_revoked', 'admin login refused']);
    expect(refused.map((line) => line.action)).toContain('login');
  });

  it("refuses a non-staff user's own valid refresh token put in the cookie", async () => {
    const { refresh } = await login(app, 'alice', PASSWORD);
    const res = await app.inject({ url: '/admin/', headers: { cookie: `revocable_admin=${refresh}` } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/login');
    expect(setCookie(res, 'revocable_admin')).toMatch(/^revocable_admin=; .*Max-Age=0/);
  });

  it('sets HttpOnly, SameSite=Strict, Path=/admin cookies without Secure over plain HTTP', async () => {
    const form = await app.inject({ url: '/admin/login' });
    const loginCookie = setCookie(form, 'revocable_admin_login')!;
    expect(loginCookie.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Path=/admin', 'SameSite=Strict']);
    const res = await postForm(app, '/admin/login', { csrf: csrfOf(form.body), username: 'root', password: PASSWORD }, { cookie: cookiePair(loginCookie) });
    const session = setCookie(res, 'revocable_admin')!;
    expect(session.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Path=/admin', 'SameSite=Strict']);
    // A proxy's header counts for nothing while the server does not trust proxies.
    const spoofed = await app.inject({ url: '/admin/login', headers: { 'x-forwarded-proto': 'https' } });
    expect(setCookie(spoofed, 'revocable_admin_login')).not.toMatch(/Secure/);
  });

  it('refuses a form without the CSRF token, with a wrong one, or with another session’s, and does nothing', async () => {
    const { access } = await login(app, 'alice', PASSWORD);
    const other = await adminLogin(app, 'root', PASSWORD);
    const target = `/admin/users/${alice.id}/revoke-all`;
    const attempts = {
      missing: await postForm(app, target, { reason: 'x' }, { cookie: admin.cookie }),
      empty: await postForm(app, target, { csrf: '' }, { cookie: admin.cookie }),
      wrong: await postForm(app, target, { csrf: `${admin.csrf.slice(0, -2)}AA` }, { cookie: admin.cookie }),
      truncated: await postForm(app, target, { csrf: admin.csrf.slice(0, 10) }, { cookie: admin.cookie }),
      anotherSession: await postForm(app, target, { csrf: other.csrf }, { cookie: admin.cookie }),
      crossSite: await postForm(app, target, { csrf: admin.csrf }, { cookie: admin.cookie, 'sec-fetch-site': 'cross-site' }),
      foreignOrigin: await postForm(app, target, { csrf: admin.csrf }, { cookie: admin.cookie, origin: 'https://evil.example' }),
      nullOrigin: await postForm(app, target, { csrf: admin.csrf }, { cookie: admin.cookie, origin: 'null' }),
      logout: await postForm(app, '/admin/logout', {}, { cookie: admin.cookie }),
    };
    expect(other.csrf).not.toBe(admin.csrf);
    for (const [what, res] of Object.entries(attempts)) {
      seen(res);
      expect(res.statusCode, what).toBe(403);
      expect(res.body, what).toContain('Request refused');
    }
    expect(accepted(auth, access)).toBe(true);
    expect((await getPage(app, admin, '/admin/')).statusCode).toBe(200);
    // The same token, from this server's origin, works.
    const sameOrigin = await postForm(app, `/admin/users/${alice.id}/activate`, { csrf: admin.csrf }, {
      cookie: admin.cookie,
      origin: 'http://localhost:80',
      'sec-fetch-site': 'same-origin',
    });
    expect(sameOrigin.statusCode).toBe(303);
  });

  it('refuses a login form without its login cookie or token', async () => {
    const { cookie, csrf } = await openLogin(app);
    const noCookie = await postForm(app, '/admin/login', { csrf, username: 'root', password: PASSWORD });
    const noToken = await postForm(app, '/admin/login', { username: 'root', password: PASSWORD }, { cookie });
    const otherCookie = await postForm(app, '/admin/login', { csrf, username: 'root', password: PASSWORD }, { cookie: (await openLogin(app)).cookie });
    for (const res of [noCookie, noToken, otherCookie]) {
      expect(res.statusCode).toBe(403);
      expect(setCookie(res, 'revocable_admin')).toBeUndefined();
    }
  });

  it('escapes user data everywhere: usernames, reasons, user agents', async () => {
    const { access } = await login(app, evil.username, PASSWORD);
    expect(accepted(auth, access)).toBe(true);
    await auth.runAs({ actor: 'cli:<b>x</b>', ip: '127.0.0.1' }, () =>
      auth.revokeAllForUser(alice.id, { reason: '<img src=x onerror=alert(1)>' }),
    );
    await auth.settled();
    await app.inject({ method: 'POST', url: '/api/token/', headers: { 'content-type': 'application/json', 'user-agent': '<svg onload=alert(2)>' }, payload: JSON.stringify({ username: 'alice', password: PASSWORD }) });
    const pages = [
      await getPage(app, admin, '/admin/users?q=script'),
      await getPage(app, admin, `/admin/users/${evil.id}`),
      await getPage(app, admin, `/admin/users/${alice.id}`),
      await getPage(app, admin, '/admin/revocations'),
      await getPage(app, admin, '/admin/'),
      await getPage(app, admin, `/admin/users?q=${encodeURIComponent('"><script>')}`),
    ];
    for (const res of pages) {
      seen(res);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toMatch(/<script|<img|<svg onload|<b>x/);
    }
    expect(pages[0]!.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(pages[1]!.body).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt; · revocable admin</title>');
    expect(pages[2]!.body).toContain('&lt;svg onload=alert(2)&gt;');
    expect(pages[3]!.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[3]!.body).toContain('cli:&lt;b&gt;x&lt;/b&gt;');
    expect(pages[5]!.body).toContain('value="&quot;&gt;&lt;script&gt;"');
  });

  it('searches users by substring and pages through them', async () => {
    const first = seen(await getPage(app, admin, '/admin/users?q=BULK'));
    expect(first.body).toContain('30 users whose name contains “BULK”, page 1 of 2.');
    expect(first.body).toContain('bulk-00');
    expect(first.body).toContain('bulk-24');
    expect(first.body).not.toContain('bulk-25');
    expect(first.body).toContain('href="/admin/users?q=BULK&amp;page=2"');
    const second = seen(await getPage(app, admin, '/admin/users?q=BULK&page=2'));
    expect(second.body).toContain('bulk-29');
    expect(second.body).not.toContain('bulk-24<');
    const none = seen(await getPage(app, admin, '/admin/users?q=zzz'));
    expect(none.body).toContain('No user’s name contains “zzz”.'.replace('’', "'"));
  });

  it('shows a user’s sessions (device, IP, created, last used, state) and revokes one, as staff:<username>', async () => {
    const bob = await auth.users.create({ username: 'bob', password: PASSWORD });
    const phone = await app.inject({ method: 'POST', url: '/api/token/', headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1' }, payload: JSON.stringify({ username: 'bob', password: PASSWORD }) });
    const laptop = await login(app, 'bob', PASSWORD);
    const [first, second] = await auth.listSessions(bob.id);
    const page = seen(await getPage(app, admin, `/admin/users/${bob.id}`));
    expect(page.body).toContain('Safari on iOS');
    expect(page.body).toContain('127.0.0.1');
    expect(page.body.match(/<span class="badge ok">live<\/span>/g)).toHaveLength(2);

    const phoneSession = (await auth.listSessions(bob.id)).find((session) => session.userAgent?.includes('iPhone'))!;
    expect([first?.id, second?.id]).toContain(phoneSession.id);
    const revoke = await postForm(app, `/admin/users/${bob.id}/sessions/${phoneSession.id}/revoke`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(revoke.statusCode).toBe(303);
    expect(revoke.headers.location).toBe(`/admin/users/${bob.id}?done=session-revoked`);
    expect(accepted(auth, (phone.json() as { access: string }).access)).toBe(false);
    expect(accepted(auth, laptop.access)).toBe(true);

    const after = seen(await getPage(app, admin, revoke.headers.location as string));
    expect(after.body).toContain('The session was revoked');
    expect(after.body).toMatch(/<span class="badge off">revoked<\/span><br><span class="muted small">admin: revoke session/);

    // Another user's session through this user's URL is not found, and stays live.
    const { refresh: aliceRefresh } = await login(app, 'alice', PASSWORD);
    const aliceSession = auth.verifyToken(aliceRefresh).sid as string;
    const foreign = await postForm(app, `/admin/users/${bob.id}/sessions/${aliceSession}/revoke`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(foreign.statusCode).toBe(404);
    expect((await auth.listSessions(alice.id)).map((session) => session.id)).toContain(aliceSession);

    await auth.settled();
    const [line] = await auth.audit.list({ userId: String(bob.id), actions: ['session_revoked'], limit: 1 });
    expect(line).toMatchObject({ actor: 'staff:root', reason: 'admin: revoke session', subject: phoneSession.id, ip: '127.0.0.1' });
  });

  it('revokes every token of a user with the reason given: their access token is refused by the API', async () => {
    const carol = await auth.users.create({ username: 'carol', password: PASSWORD });
    const { access } = await login(app, 'carol', PASSWORD);
    expect((await app.inject({ url: '/api/me/', headers: bearer(access) })).statusCode).toBe(200);
    const res = await postForm(app, `/admin/users/${carol.id}/revoke-all`, { csrf: admin.csrf, reason: 'laptop stolen' }, { cookie: admin.cookie });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/admin/users/${carol.id}?done=revoked-all`);
    expect((await app.inject({ url: '/api/me/', headers: bearer(access) })).statusCode).toBe(401);
    await auth.settled();
    const [line] = await auth.audit.list({ userId: String(carol.id), actions: ['user_tokens_revoked'], limit: 1 });
    expect(line).toMatchObject({ actor: 'staff:root', reason: 'admin: laptop stolen', ip: '127.0.0.1' });
    const revocations = seen(await getPage(app, admin, '/admin/revocations'));
    expect(revocations.body).toContain('admin: laptop stolen');
    expect(revocations.body).toContain(`<a href="/admin/users/${carol.id}">carol</a>`);
    const page = seen(await getPage(app, admin, res.headers.location as string));
    expect(page.body).toContain('Every token of this user was revoked');
    expect(page.body).toMatch(/<span class="badge off">revoked<\/span><br><span class="muted small">(admin: laptop stolen|every token of the user revoked)/);
    expect(page.body).not.toContain('<span class="badge ok">live</span>');
  });

  it('deactivates and activates a user, and never oneself', async () => {
    const dave = await auth.users.create({ username: 'dave', password: PASSWORD });
    const { access } = await login(app, 'dave', PASSWORD);
    const off = await postForm(app, `/admin/users/${dave.id}/deactivate`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(off.headers.location).toBe(`/admin/users/${dave.id}?done=deactivated`);
    expect((await auth.users.findById(dave.id))?.isActive).toBe(false);
    expect(accepted(auth, access)).toBe(false);
    expect(seen(await getPage(app, admin, `/admin/users/${dave.id}`)).body).toContain('Activate user');
    const on = await postForm(app, `/admin/users/${dave.id}/activate`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(on.headers.location).toBe(`/admin/users/${dave.id}?done=activated`);
    expect((await auth.users.findById(dave.id))?.isActive).toBe(true);

    const self = await postForm(app, `/admin/users/${staff.id}/deactivate`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(self.headers.location).toBe(`/admin/users/${staff.id}?done=not-yourself`);
    expect((await auth.users.findById(staff.id))?.isActive).toBe(true);
    await auth.settled();
    const [line] = await auth.audit.list({ userId: String(dave.id), actions: ['user_tokens_revoked'], limit: 1 });
    expect(line).toMatchObject({ actor: 'staff:root', reason: 'deactivated' });
  });

  it('draws the overview chart as an accessible inline SVG with a table of the same figures', async () => {
    const res = seen(await getPage(app, admin, '/admin/'));
    expect(res.body).toMatch(/<svg [^>]*role="img" aria-labelledby="chart-title chart-desc"/);
    expect(res.body).toContain('<title id="chart-title">Logins and revocations per hour, last 24 hours (UTC)</title>');
    const desc = /<desc id="chart-desc">(\d+) logins? and (\d+) revocations?/.exec(res.body);
    expect(Number(desc?.[1])).toBeGreaterThan(5);
    expect(Number(desc?.[2])).toBeGreaterThan(2);
    expect(res.body).toMatch(/<rect class="bar login"[^>]*><title>\d\d:00–\d\d:00 UTC: \d+ logins?<\/title><\/rect>/);
    expect(res.body.match(/<tr><th scope="row">\d\d:00–\d\d:00<\/th>/g)).toHaveLength(24);
  });

  it('never puts a token in a page', async () => {
    const { refresh, access } = await login(app, 'alice', PASSWORD);
    bodies.push(seen(await getPage(app, admin, `/admin/users/${alice.id}`)).body);
    bodies.push(seen(await getPage(app, admin, `/admin/users/${staff.id}`)).body);
    expect(bodies.length).toBeGreaterThan(30);
    for (const body of bodies) {
      for (const token of [admin.token, refresh, access]) {
        expect(body).not.toContain(token);
        expect(body).not.toContain(token.split('.')[2]);
      }
      expect(body).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    }
  });
});

describe('the end of an admin session', () => {
  let auth: Auth;
  let app: FastifyInstance;
  let staff: User;

  beforeAll(async () => {
    ({ auth, app } = await server());
    staff = await auth.users.create({ username: 'ops', password: PASSWORD, isStaff: true });
  });

  it('logout blacklists the session and clears the cookie', async () => {
    const admin = await adminLogin(app, 'ops', PASSWORD);
    const res = await postForm(app, '/admin/logout', { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/login?done=logged-out');
    expect(setCookie(res, 'revocable_admin')).toMatch(/^revocable_admin=; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=0$/);
    const again = await getPage(app, admin, '/admin/');
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe('/admin/login');
    await expect(auth.refresh(admin.token)).rejects.toThrow();
    const page = await app.inject({ url: '/admin/login?done=logged-out' });
    expect(page.body).toContain('You have been logged out');
  });

  it('ends when the staff user’s tokens are revoked elsewhere, the session is revoked, or staff is taken away', async () => {
    const a = await adminLogin(app, 'ops', PASSWORD);
    await auth.revokeAllForUser(staff.id, { reason: 'revoke-user from the CLI' });
    expect((await getPage(app, a, '/admin/')).headers.location).toBe('/admin/login');
    expect((await postForm(app, `/admin/users/${staff.id}/activate`, { csrf: a.csrf }, { cookie: a.cookie })).statusCode).toBe(403);

    const b = await adminLogin(app, 'ops', PASSWORD);
    const [session] = await auth.listSessions(staff.id);
    expect(session).toBeDefined();
    await auth.revokeSession(session!.id, { reason: 'elsewhere' });
    expect((await getPage(app, b, '/admin/')).headers.location).toBe('/admin/login');

    const c = await adminLogin(app, 'ops', PASSWORD);
    await auth.store.updateUser(staff.id, { isStaff: false });
    expect((await getPage(app, c, '/admin/')).headers.location).toBe('/admin/login');
    expect((await submitLogin(app, 'ops', PASSWORD)).statusCode).toBe(403);
    await auth.store.updateUser(staff.id, { isStaff: true });
    expect((await getPage(app, await adminLogin(app, 'ops', PASSWORD), '/admin/')).statusCode).toBe(200);
  });

  it('ends for the admin who revokes every token of their own account', async () => {
    const admin = await adminLogin(app, 'ops', PASSWORD);
    const res = await postForm(app, `/admin/users/${staff.id}/revoke-all`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(res.statusCode).toBe(303);
    expect((await getPage(app, admin, res.headers.location as string)).headers.location).toBe('/admin/login');
  });
});

describe('behind a proxy', () => {
  it('marks the cookies Secure when the trusted proxy says the request came over HTTPS', async () => {
    const { auth, app } = await server({ trustProxy: true });
    await auth.users.create({ username: 'root', password: PASSWORD, isStaff: true });
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'admin.example' };
    const form = await app.inject({ url: '/admin/login', headers: https });
    const loginCookie = setCookie(form, 'revocable_admin_login')!;
    expect(loginCookie.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Path=/admin', 'SameSite=Strict', 'Secure']);
    const res = await postForm(
      app,
      '/admin/login',
      { csrf: csrfOf(form.body), username: 'root', password: PASSWORD },
      { ...https, cookie: cookiePair(loginCookie), origin: 'https://admin.example' },
    );
    expect(res.statusCode).toBe(303);
    expect(setCookie(res, 'revocable_admin')!.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Path=/admin', 'SameSite=Strict', 'Secure']);
    // Over plain HTTP through the same proxy: no Secure, and an https Origin is another origin.
    const plain = await app.inject({ url: '/admin/login', headers: { 'x-forwarded-proto': 'http' } });
    expect(setCookie(plain, 'revocable_admin_login')).not.toMatch(/Secure/);
  });

  it('counts failed admin logins in the login throttle', async () => {
    const { auth, app } = await server({ settings: { settings: { loginFailuresPerUsername: 2 } } });
    await auth.users.create({ username: 'root', password: PASSWORD, isStaff: true });
    expect((await submitLogin(app, 'root', 'wrong')).statusCode).toBe(403);
    expect((await submitLogin(app, 'root', 'wrong')).statusCode).toBe(403);
    const throttled = await submitLogin(app, 'root', PASSWORD);
    expect(throttled.statusCode).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect(throttled.body).toContain('Too many login attempts');
    await auth.settled();
    const failed = await auth.audit.list({ actions: ['login_failed'], limit: 10 });
    expect(failed.filter((line) => line.subject === 'root')).toHaveLength(2);
  });
});

describe("with userIdField: 'username'", () => {
  it('logs staff in, lists a user’s sessions and revokes them, tokens keyed by username', async () => {
    const { auth, app } = await server({ settings: { settings: { userIdField: 'username' } } });
    await auth.users.create({ username: 'root', password: PASSWORD, isStaff: true });
    const erin = await auth.users.create({ username: 'erin', password: PASSWORD });
    const { access } = await login(app, 'erin', PASSWORD);
    const admin = await adminLogin(app, 'root', PASSWORD);
    const page = await getPage(app, admin, `/admin/users/${erin.id}`);
    expect(page.body.match(/<span class="badge ok">live<\/span>/g)).toHaveLength(1);
    const res = await postForm(app, `/admin/users/${erin.id}/revoke-all`, { csrf: admin.csrf }, { cookie: admin.cookie });
    expect(res.statusCode).toBe(303);
    expect(accepted(auth, access)).toBe(false);
    await auth.settled();
    const [line] = await auth.audit.list({ userId: 'erin', actions: ['user_tokens_revoked'], limit: 1 });
    expect(line).toMatchObject({ actor: 'staff:root', reason: 'admin: revoke all' });
    expect((await getPage(app, admin, '/admin/revocations')).body).toContain(`<a href="/admin/users/${erin.id}">erin</a>`);
  });
});
