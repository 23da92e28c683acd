import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** Helpers of the admin tests: cookies, CSRF tokens and form posts over `app.inject`. */

/** The `Set-Cookie` lines of a response. */
export function setCookies(res: LightMyRequestResponse): string[] {
  const header = res.headers['set-cookie'];
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

/** The `Set-Cookie` line of cookie `name`, or undefined. */
export function setCookie(res: LightMyRequestResponse, name: string): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${name}=`));
}

/** `name=value` of a `Set-Cookie` line, as a `Cookie` header sends it back. */
export const cookiePair = (line: string): string => line.split(';')[0] as string;

/** The value of the first `csrf` hidden field of a page. */
export function csrfOf(body: string): string {
  const match = /name="csrf" value="([^"]*)"/.exec(body);
  expect(match, 'the page has a CSRF field').not.toBeNull();
  return match![1] as string;
}

/** Posts a urlencoded form. */
export function postForm(
  app: FastifyInstance,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** Opens the login form: the login cookie (`name=value`) and the form's CSRF token. */
export async function openLogin(app: FastifyInstance): Promise<{ cookie: string; csrf: string }> {
  const res = await app.inject({ method: 'GET', url: '/admin/login' });
  expect(res.statusCode).toBe(200);
  const line = setCookie(res, 'revocable_admin_login');
  expect(line).toBeDefined();
  return { cookie: cookiePair(line!), csrf: csrfOf(res.body) };
}

/** Submits the login form; answers the response. */
export async function submitLogin(
  app: FastifyInstance,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const { cookie, csrf } = await openLogin(app);
  return postForm(app, '/admin/login', { csrf, username, password }, { cookie, ...headers });
}

/** An admin session: its cookie (`revocable_admin=…`) and the CSRF token of its forms. */
export interface AdminSession {
  cookie: string;
  csrf: string;
  /** The refresh token in the cookie (what no page may ever show). */
  token: string;
}

/** Logs a staff member in and answers the session. */
export async function adminLogin(app: FastifyInstance, username: string, password: string): Promise<AdminSession> {
  const res = await submitLogin(app, username, password);
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe('/admin/');
  const line = setCookie(res, 'revocable_admin');
  expect(line).toBeDefined();
  const cookie = cookiePair(line!);
  const page = await app.inject({ method: 'GET', url: '/admin/', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  return { cookie, csrf: csrfOf(page.body), token: decodeURIComponent(cookie.slice('revocable_admin='.length)) };
}

/** GETs an admin page with the session. */
export function getPage(app: FastifyInstance, session: AdminSession | undefined, url: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: session ? { cookie: session.cookie } : {} });
}
