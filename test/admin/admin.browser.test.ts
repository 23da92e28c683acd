/**
 * The admin pages in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the real server listening on 127.0.0.1. A staff member logs in, finds a user, revokes all
 * their sessions, and the API then refuses that user's access token; a non-staff login is refused; a
 * form posted without its CSRF token is refused. A screenshot of every page is saved to
 * test-results/admin/*.png.
 *
 * Without /usr/bin/chromium the suite is skipped loudly, or fails under REVOCABLE_REQUIRE_STORES=1
 * (CI installs it: .ci/run).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { buildServer } from '../../src/http/fastify.ts';
import type { AuditRecord } from '../../src/store/records.ts';
import type { User } from '../../src/users/users.ts';
import { announce } from '../support/databases.ts';
import { testAuth } from '../helpers.ts';

/** Debian's chromium; REVOCABLE_TEST_CHROMIUM points elsewhere (or at nothing, to see the skip). */
const CHROMIUM = process.env.REVOCABLE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = join(process.cwd(), 'test-results', 'admin');
const PASSWORD = 'correct horse battery';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0';

const available = existsSync(CHROMIUM);
const required = process.env.REVOCABLE_REQUIRE_STORES === '1';
if (!available) {
  announce(
    `admin browser tests: ${CHROMIUM} NOT FOUND (apt-get install chromium) — ${required ? 'FAILING (REVOCABLE_REQUIRE_STORES=1)' : 'SKIPPED'}`,
  );
}

describe.skipIf(!available && !required)('the admin pages in headless Chromium', () => {
  if (!available) {
    it(`has Chromium at ${CHROMIUM} (REVOCABLE_REQUIRE_STORES=1)`, () => {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
    });
    return;
  }

  let auth: Auth;
  let app: FastifyInstance;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let alice: User;
  let bob: User;
  const cspViolations: string[] = [];

  /** Logs in over the API, as a device would: the pair. */
  const apiLogin = async (username: string, userAgent: string) => {
    const res = await fetch(`${base}/api/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { access: string; refresh: string };
  };
  const me = async (access: string) => (await fetch(`${base}/api/me/`, { headers: { authorization: `Bearer ${access}` } })).status;
  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    auth = await testAuth();
    app = await buildServer(auth);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('the server has no port');
    base = `http://127.0.0.1:${address.port}`;

    await auth.users.create({ username: 'root', password: PASSWORD, isStaff: true });
    alice = await auth.users.create({ username: 'alice', password: PASSWORD });
    bob = await auth.users.create({ username: 'bob', password: PASSWORD });
    for (const username of ['alicia.m', 'carol', 'dave', 'erin', 'frank', '<script>alert(1)</script>']) {
      await auth.users.create({ username, password: PASSWORD });
    }
    await auth.users.create({ username: 'mallory', password: PASSWORD, isActive: false });
    await auth.users.create({ username: 'ops', password: PASSWORD, isStaff: true });

    // A day of history for the overview's chart: logins and revocations spread over the last 24 hours.
    const hour = 3_600_000;
    const now = Date.now();
    const history: AuditRecord[] = [];
    const line = (atMs: number, action: string, userId: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
      atMs,
      action,
      actor: `user:${userId}`,
      userId: String(userId),
      subject: null,
      reason: null,
      ip: `203.0.113.${userId}`,
      ...extra,
    });
    const revocation = [
      (atMs: number, userId: number) => line(atMs, 'token_blacklisted', userId, { subject: `${userId}f3a9c1e07b2d4e6a8c`, reason: 'logout' }),
      (atMs: number, userId: number) => line(atMs, 'session_revoked', userId, { subject: `${userId}0c4d2b9e1a7f5d3c6b`, reason: 'deleted_by_user' }),
      (atMs: number, userId: number) => line(atMs, 'user_tokens_revoked', userId, { actor: 'cli:ops', ip: null, reason: 'password reset' }),
    ];
    for (let ago = 23; ago >= 1; ago--) {
      const logins = Math.round(6 + 5 * Math.sin(ago / 3) + (ago % 5));
      for (let index = 0; index < logins; index++) history.push(line(now - ago * hour + index * 1000, 'login', 2 + (index % 8), { reason: 'pair' }));
      for (let index = 0; index < (ago * 7) % 4; index++) {
        history.push((revocation[(ago + index) % 3] as (typeof revocation)[number])(now - ago * hour + 30_000 + index * 1000, 3 + ((ago + index) % 6)));
      }
    }
    await auth.store.appendAudit(history);

    profile = mkdtempSync(join(tmpdir(), 'revocable-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await auth?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('refuses a non-staff login with the generic message', async () => {
    await page.goto(`${base}/admin/`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await expect(page.locator('h1').textContent()).resolves.toBe('Log in');
    await shoot('01-login');

    await page.fill('#username', 'alice');
    await page.fill('#password', PASSWORD);
    const [response] = await Promise.all([page.waitForResponse(`${base}/admin/login`), page.click('button[type=submit]')]);
    expect(response.status()).toBe(403);
    await expect(page.locator('.notice.error').textContent()).resolves.toContain(
      'Please enter the correct username and password for a staff account.',
    );
    expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'revocable_admin' }));
    expect(await auth.listSessions(alice.id)).toEqual([]);
    await shoot('02-login-refused-not-staff');
  });

  it('lets staff log in, find a user, and revoke all their sessions: the API then refuses their access token', async () => {
    const phone = await apiLogin('alice', IPHONE);
    await apiLogin('alice', FIREFOX);
    expect(await me(phone.access)).toBe(200);

    await page.fill('#username', 'root');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/admin/`), page.click('button[type=submit]')]);
    const cookie = (await context.cookies()).find((candidate) => candidate.name === 'revocable_admin');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin', secure: false });
    await expect(page.locator('h1').textContent()).resolves.toBe('Overview');
    await expect(page.locator('svg[role=img] rect.bar.login').count()).resolves.toBeGreaterThan(10);
    await shoot('03-overview');

    await page.click('nav >> text=Users');
    await expect(page.locator('h1').textContent()).resolves.toBe('Users');
    await expect(page.locator('table.users tbody tr').count()).resolves.toBe(11);
    await expect(page.locator('table.users').textContent()).resolves.toContain('<script>alert(1)</script>');
    await shoot('04-users');

    await page.fill('#q', 'ALI');
    await Promise.all([page.waitForURL(`${base}/admin/users?q=ALI`), page.click('form.search button')]);
    await expect(page.locator('table.users tbody tr').count()).resolves.toBe(2);
    await shoot('05-users-search');

    await Promise.all([page.waitForURL(`${base}/admin/users/${alice.id}`), page.click('table.users >> text=alice')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('alice');
    await expect(page.locator('table.sessions tbody tr.live').count()).resolves.toBe(2);
    await expect(page.locator('table.sessions').textContent()).resolves.toContain('Safari on iOS');
    await expect(page.locator('table.sessions').textContent()).resolves.toContain('Firefox on Windows');
    await shoot('06-user');

    await page.fill('#reason', 'laptop stolen');
    await Promise.all([page.waitForURL(`${base}/admin/users/${alice.id}?done=revoked-all`), page.click('text=Revoke all sessions')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('Every token of this user was revoked');
    await auth.settled();
    await page.reload();
    await expect(page.locator('table.sessions tbody tr.live').count()).resolves.toBe(0);
    // The two devices', and the session of the refused admin login above.
    await expect(page.locator('table.sessions tbody tr.revoked').count()).resolves.toBe(3);
    await expect(page.locator('table.sessions').textContent()).resolves.toContain('admin login refused');
    await shoot('07-user-revoked');

    expect(await me(phone.access)).toBe(401);
    const refresh = await fetch(`${base}/api/token/refresh/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh: phone.refresh }),
    });
    expect(refresh.status).toBe(401);

    await page.click('nav >> text=Revocations');
    await expect(page.locator('h1').textContent()).resolves.toBe('Recent revocations');
    const first = page.locator('table.audit tbody tr').first();
    await expect(first.textContent()).resolves.toContain('staff:root');
    await expect(first.textContent()).resolves.toContain('admin: laptop stolen');
    await shoot('08-revocations');

    const [line] = await auth.audit.list({ userId: String(alice.id), actions: ['user_tokens_revoked'], limit: 1 });
    expect(line).toMatchObject({ actor: 'staff:root', reason: 'admin: laptop stolen', ip: '127.0.0.1' });
  });

  it('refuses a form posted without its CSRF token', async () => {
    const { access } = await apiLogin('bob', FIREFOX);
    await page.goto(`${base}/admin/users/${bob.id}`);
    await page.locator('form[action$="/revoke-all"] input[name=csrf]').evaluate((input) => input.remove());
    const [response] = await Promise.all([
      page.waitForResponse(`${base}/admin/users/${bob.id}/revoke-all`),
      page.click('text=Revoke all sessions'),
    ]);
    expect(response.status()).toBe(403);
    await expect(page.locator('h1').textContent()).resolves.toBe('Request refused');
    await shoot('09-csrf-refused');
    expect(await me(access)).toBe(200);
    expect(await auth.listSessions(bob.id)).toHaveLength(1);
  });

  it('logs out: the admin session is revoked', async () => {
    await page.goto(`${base}/admin/`);
    await Promise.all([page.waitForURL(`${base}/admin/login?done=logged-out`), page.click('text=Log out')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('You have been logged out');
    await shoot('10-logged-out');
    await page.goto(`${base}/admin/users`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'revocable_admin' }));
  });

  it('ran every page without a Content-Security-Policy violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
