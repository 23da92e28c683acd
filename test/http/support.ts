import { createHmac } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { SIGNING_KEY } from '../helpers.ts';

/** The exact `WWW-Authenticate` of every 401. */
export const WWW_AUTHENTICATE = 'Bearer realm="api"';

/** Compact JSON, as both Simple JWT and revocable write it. */
export const json = (value: unknown): string => JSON.stringify(value);

/** base64url of a JSON value (or of a string taken verbatim). */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Signs a token by hand with node:crypto, so tests can mint what the server never would (no `exp`, no
 * `jti`, no user id, another key, another algorithm). `hash` is the HMAC digest (sha256 for HS256).
 */
export function signToken(
  payload: Record<string, unknown>,
  options: { header?: Record<string, unknown>; key?: string; hash?: 'sha256' | 'sha384' | 'sha512' } = {},
): string {
  const header = options.header ?? { alg: 'HS256', typ: 'JWT' };
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = createHmac(options.hash ?? 'sha256', options.key ?? SIGNING_KEY)
    .update(input)
    .digest('base64url');
  return `${input}.${signature}`;
}

/** A payload with every claim Simple JWT puts in a token, relative to `nowMs` (the server's clock). */
export function claimsFor(
  type: 'access' | 'refresh',
  userId: number,
  nowMs: number = Date.now(),
  lifetimeSeconds = type === 'access' ? 300 : 86400,
): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return {
    token_type: type,
    exp: iat + lifetimeSeconds,
    iat,
    jti: 'ab'.repeat(16),
    user_id: userId,
  };
}

/** A copy of a payload without some claims. */
export function without(payload: Record<string, unknown>, ...claims: string[]): Record<string, unknown> {
  const copy = { ...payload };
  for (const claim of claims) delete copy[claim];
  return copy;
}

/** The three segments of a JWT, decoded where they are JSON. */
export function segments(token: string): { header: string; payload: string; signature: string } {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return {
    header: Buffer.from(header, 'base64url').toString('utf8'),
    payload: Buffer.from(payload, 'base64url').toString('utf8'),
    signature,
  };
}

/** The same token with the first character of its signature changed (which always changes its bytes). */
export function badSignature(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const first = signature[0] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${first}${signature.slice(1)}`;
}

/** The same token, signature kept, with one claim of its payload changed. */
export function tamperedPayload(token: string, patch: Record<string, unknown>): string {
  const [header, payload = '', signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${b64url({ ...claims, ...patch })}.${signature}`;
}

/** The same token re-signed with `alg: none` and an empty signature. */
export function algNone(token: string): string {
  const [, payload] = token.split('.');
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
}

/** The same claims signed with the same key but HS512. */
export function otherAlgorithm(token: string): string {
  const claims = JSON.parse(segments(token).payload) as Record<string, unknown>;
  return signToken(claims, { header: { alg: 'HS512', typ: 'JWT' }, hash: 'sha512' });
}

/** The same claims signed HS256 with another key of the same length. */
export function otherKey(token: string): string {
  const claims = JSON.parse(segments(token).payload) as Record<string, unknown>;
  return signToken(claims, { key: 'another-signing-key-of-32-bytes-or-more!' });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POSTs a JSON body. */
export function postJson(
  app: FastifyInstance,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

/** Logs in over HTTP and returns the pair. */
export async function login(
  app: FastifyInstance,
  username: string,
  password: string,
): Promise<{ refresh: string; access: string }> {
  const res = await postJson(app, '/api/token/', { username, password });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { refresh: string; access: string };
}

/**
 * Asserts the whole answer: status, content type exactly `application/json`, the body byte for byte
 * (so key order counts), and `WWW-Authenticate` exactly on 401 and absent otherwise.
 */
export function expectAnswer(res: LightMyRequestResponse, status: number, body: unknown): void {
  expect({ status: res.statusCode, body: res.body }).toEqual({ status, body: json(body) });
  expect(res.headers['content-type']).toBe('application/json');
  expectAuthenticateHeader(res);
}

/** `WWW-Authenticate: Bearer realm="api"` on a 401, and no such header on anything else. */
export function expectAuthenticateHeader(res: LightMyRequestResponse): void {
  if (res.statusCode === 401) expect(res.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
  else expect(res.headers['www-authenticate']).toBeUndefined();
}

/** Simple JWT's 401 on refresh / verify / blacklist. */
export const tokenError = (message: string) => ({ detail: message, code: 'token_not_valid' });

/** Simple JWT's 401 on a protected route when the access token fails. */
export const protectedRouteError = (message: string) => ({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
});

export const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' };
export const BAD_HEADER = {
  detail: 'Authorization header must contain two space-delimited values',
  code: 'bad_authorization_header',
};
export const NO_ACCOUNT = { detail: 'No active account found with the given credentials' };
export const INVALID = 'Token is invalid or expired';
export const WRONG_TYPE = 'Token has wrong type';
export const BLACKLISTED = 'Token is blacklisted';
export const NO_EXP = "Token has no 'exp' claim";
export const NO_ID = 'Token has no id';
export const REQUIRED = 'This field is required.';
export const BLANK = 'This field may not be blank.';
