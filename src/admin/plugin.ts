import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { runAs } from '../audit/actor.ts';
import type { Auth } from '../auth.ts';
import { RevocableError } from '../errors.ts';
import { type AdminAction, activateAction, deactivateAction, revokeAllAction, revokeSessionAction } from './actions.ts';
import { type AdminContext, type Page, queryParam } from './context.ts';
import { readCookie, writeCookie } from './cookies.ts';
import { CSRF_FIELD, createCsrf, fromSameOrigin } from './csrf.ts';
import { readForm, textField } from './form.ts';
import { layout } from './html.ts';
import { LOGIN_REFUSED, loginPage } from './pages/login.ts';
import { overviewPage } from './pages/overview.ts';
import { REFUSALS, type Refusal, refusalPage } from './pages/refusal.ts';
import { revocationsPage } from './pages/revocations.ts';
import { USER_NOTICES, userPage } from './pages/user.ts';
import { usersPage } from './pages/users.ts';
import { applySecurityHeaders } from './security.ts';
import { LOGIN_COOKIE, SESSION_COOKIE, type StaffSession, currentStaff, staffLogin, staffLogout } from './session.ts';

/** Options of {@link adminPlugin}; register it with `prefix: '/admin'`. */
export interface AdminPluginOptions {
  auth: Auth;
  /**
   * The request's Content-Type as the client sent it. The standalone server hands every route the raw
   * body and sets the header aside (src/http/fastify.ts); the admin reads form bodies itself.
   */
  contentTypeOf(request: FastifyRequest): string | undefined;
}

const STYLESHEET = readFileSync(new URL('./admin.css', import.meta.url));
const LOGIN_NOTICES: Record<string, string> = { 'logged-out': 'You have been logged out. Your admin session is revoked.' };
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The admin pages at `/admin/`: staff login, overview, users, one user's sessions, recent revocations.
 * Server-rendered HTML without any script; every response carries a strict Content-Security-Policy;
 * every form a CSRF token; every action runs as `staff:<username>` for the audit trail.
 * Security model: docs/admin.md.
 */
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (app, { auth, contentTypeOf }) => {
  const csrf = createCsrf(auth.settings.signingKey);
  const sessionBinding = (staff: StaffSession) => `session:${staff.sessionId}`;

  app.addHook('onSend', async (_request, reply, payload) => {
    applySecurityHeaders(reply);
    return payload;
  });

  const sendHtml = (reply: FastifyReply, status: number, markup: string) =>
    reply.code(status).type('text/html; charset=utf-8').send(markup);
  const refuse = (reply: FastifyReply, refusal: Refusal, ctx?: AdminContext) =>
    sendHtml(reply, refusal.status, refusalPage(refusal, ctx && { session: ctx.staff, csrf: ctx.csrf }));
  const forget = (request: FastifyRequest, reply: FastifyReply) => {
    if (readCookie(request, SESSION_COOKIE) !== undefined) writeCookie(request, reply, SESSION_COOKIE, undefined);
  };
  const contextOf = (request: FastifyRequest, staff: StaffSession): AdminContext => ({
    auth,
    staff,
    csrf: csrf.tokenFor(sessionBinding(staff)),
    ip: request.ip,
    nowMs: Date.now(),
    request,
  });

  /** A page for signed-in staff; anyone else is sent to the login. */
  const page =
    (render: (ctx: AdminContext) => Promise<Page | undefined>, notices: Record<string, string> = {}) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const staff = await currentStaff(auth, request);
      if (!staff) {
        forget(request, reply);
        return reply.redirect('/admin/login', 303);
      }
      const ctx = contextOf(request, staff);
      const result = await render(ctx);
      if (!result) return refuse(reply, REFUSALS.notFound, ctx);
      const done = queryParam(request, 'done');
      const notice = done !== undefined && Object.hasOwn(notices, done) ? notices[done] : undefined;
      return sendHtml(
        reply,
        result.status ?? 200,
        layout({
          title: result.title,
          nav: result.nav,
          staff: { username: staff.user.username, csrf: ctx.csrf },
          notice: notice ? { kind: done === 'not-yourself' ? 'error' : 'ok', text: notice } : undefined,
          body: result.body,
        }),
      );
    };

  /**
   * A form post of signed-in staff: same origin, a live staff session, a urlencoded body and the
   * session's CSRF token, or a refusal page; then the action, as `staff:<username>`, and a redirect.
   */
  const action = (run: AdminAction) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (!fromSameOrigin(request)) return refuse(reply, REFUSALS.csrf);
    const staff = await currentStaff(auth, request);
    if (!staff) {
      forget(request, reply);
      return refuse(reply, REFUSALS.sessionEnded);
    }
    const ctx = contextOf(request, staff);
    const form = readForm(request, contentTypeOf(request));
    if (!form) return refuse(reply, REFUSALS.badRequest, ctx);
    if (!csrf.verify(sessionBinding(staff), form.get(CSRF_FIELD))) return refuse(reply, REFUSALS.csrf, ctx);
    const next = await runAs({ actor: staff.actor, ip: ctx.ip }, () => run(ctx, form));
    if (next === undefined) return refuse(reply, REFUSALS.notFound, ctx);
    return reply.redirect(next, 303);
  };

  app.get('/static/admin.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));

  app.get('/login', async (request, reply) => {
    if (await currentStaff(auth, request)) return reply.redirect('/admin/', 303);
    forget(request, reply);
    // The login form's CSRF token is bound to a random value in a cookie of its own (kept across reloads).
    let nonce = readCookie(request, LOGIN_COOKIE);
    if (!nonce || !NONCE_PATTERN.test(nonce)) {
      nonce = randomBytes(32).toString('base64url');
      writeCookie(request, reply, LOGIN_COOKIE, nonce);
    }
    const done = queryParam(request, 'done');
    const notice = done !== undefined && Object.hasOwn(LOGIN_NOTICES, done) ? LOGIN_NOTICES[done] : undefined;
    return sendHtml(reply, 200, loginPage({ csrf: csrf.tokenFor(`login:${nonce}`), notice }));
  });

  app.post('/login', async (request, reply) => {
    if (!fromSameOrigin(request)) return refuse(reply, REFUSALS.csrf);
    const form = readForm(request, contentTypeOf(request));
    if (!form) return refuse(reply, REFUSALS.badRequest);
    const nonce = readCookie(request, LOGIN_COOKIE);
    if (!nonce || !csrf.verify(`login:${nonce}`, form.get(CSRF_FIELD))) return refuse(reply, REFUSALS.csrf);
    const username = textField(form, 'username', 150);
    const password = form.get('password') ?? '';
    const again = (status: number, error: string) =>
      sendHtml(reply, status, loginPage({ csrf: csrf.tokenFor(`login:${nonce}`), username, error }));
    if (!username || !password) return again(400, 'Enter a username and a password.');
    const userAgent = request.headers['user-agent'];
    const outcome = await staffLogin(auth, username, password, { ip: request.ip, userAgent });
    if (outcome.ok) {
      writeCookie(request, reply, SESSION_COOKIE, outcome.refreshToken);
      writeCookie(request, reply, LOGIN_COOKIE, undefined);
      return reply.redirect('/admin/', 303);
    }
    if (outcome.reason === 'throttled') {
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return again(429, `Too many login attempts. Try again in ${outcome.retryAfterSeconds} seconds.`);
    }
    return again(403, LOGIN_REFUSED);
  });

  app.post('/logout', async (request, reply) => {
    if (!fromSameOrigin(request)) return refuse(reply, REFUSALS.csrf);
    const staff = await currentStaff(auth, request);
    if (!staff) {
      forget(request, reply);
      return reply.redirect('/admin/login', 303);
    }
    const ctx = contextOf(request, staff);
    const form = readForm(request, contentTypeOf(request));
    if (!form) return refuse(reply, REFUSALS.badRequest, ctx);
    if (!csrf.verify(sessionBinding(staff), form.get(CSRF_FIELD))) return refuse(reply, REFUSALS.csrf, ctx);
    await staffLogout(auth, staff, request.ip);
    writeCookie(request, reply, SESSION_COOKIE, undefined);
    return reply.redirect('/admin/login?done=logged-out', 303);
  });

  app.get('/', page(overviewPage));
  app.get('/users', page(usersPage));
  app.get('/users/:id', page(userPage, USER_NOTICES));
  app.get('/revocations', page(revocationsPage));
  app.post('/users/:id/sessions/:sessionId/revoke', action(revokeSessionAction));
  app.post('/users/:id/revoke-all', action(revokeAllAction));
  app.post('/users/:id/deactivate', action(deactivateAction));
  app.post('/users/:id/activate', action(activateAction));

  app.setNotFoundHandler((_request, reply) => refuse(reply, REFUSALS.notFound));
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error instanceof RevocableError ? error.status : (error.statusCode ?? 500);
    if (status === 503) return refuse(reply, REFUSALS.unavailable);
    if (status >= 400 && status < 500) return refuse(reply, { ...REFUSALS.badRequest, status });
    request.log.error(error);
    return refuse(reply, REFUSALS.error);
  });
};
