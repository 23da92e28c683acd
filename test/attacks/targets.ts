/**
 * Where the attack suite aims: every route that accepts a token, on real servers. A *lab* is one auth
 * server (Fastify, listening on loopback, SQLite in memory unless told otherwise, a manual clock) with a
 * staff user and an OAuth client, plus a resource server behind the Express adapter: with the shared
 * secret when the lab signs with HMAC, with the auth server's JWKS otherwise. A *target* is one route
 * of one lab, with how a token is presented there and what refusal and acceptance look like.
 *
 * `GET /api/revocations/stream/` is not a target: it authenticates OAuth clients, not tokens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { LightMyRequestResponse } from 'fastify';
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireAuth } from '../../src/adapters/express.ts';
import type { Auth } from '../../src/auth.ts';
import type { ResourceServer } from '../../src/resource/resource-server.ts';
import type { SettingsInput } from '../../src/settings/settings.ts';
import { SIGNING_KEY, clockAt } from '../helpers.ts';
import { type AsymmetricAlgorithm, KEY_PAIRS, SILENT, asymmetricSettings, resourceServer, startAuthServer } from '../resource/support.ts';
import { type Json, type Part, type Signer, jws, readToken } from './support.ts';

export const PASSWORD = 'correct horse battery staple';
export const INVALID = 'Token is invalid or expired';
export const WRONG_TYPE = 'Token has wrong type';
export const WWW_AUTHENTICATE = 'Bearer realm="api"';

export type TokenKind = 'access' | 'refresh' | 'sliding';
export type LabAlgorithm = 'HS256' | AsymmetricAlgorithm;

export interface LabSpec {
  /** Shown in test names: `[HS256]`, `[ES256 aud/iss]`. */
  name: string;
  algorithm: LabAlgorithm;
  settings?: Partial<SettingsInput>;
  /** A database URL (`pglite:memory`); SQLite in memory by default. */
  database?: string;
}

/** A token the server minted, decoded. */
export interface Baseline {
  token: string;
  header: Json;
  payload: Json;
}

/** The server's real signing key, so claim-level attacks carry a valid signature. */
export interface Realm {
  signer: Signer;
  /** The `kid` the server's tokens carry (undefined for the lone HMAC key). */
  kid: string | undefined;
  /** Signs with the real key; the header defaults to the server's own. */
  sign(payload: Part, header?: Part): string;
  /**
   * A server-minted token's claims and header with changes (a member set to undefined is removed),
   * signed again with the real key.
   */
  resign(base: Baseline, claims?: Json, header?: Json): string;
}

export interface Lab {
  spec: LabSpec;
  auth: Auth;
  /** The auth server's base URL on loopback. */
  url: string;
  clock: ReturnType<typeof clockAt>;
  /** A staff user, so the admin session cookie is a target too. */
  user: { id: number; username: string };
  client: { clientId: string; clientSecret: string };
  realm: Realm;
  resource: { server: ResourceServer; url: string };
  /** The configured verifying key (PEM) of an asymmetric lab. */
  publicKeyPem: string | undefined;
  /** Revocations committed so far (tokens blacklisted, sessions revoked, users revoked). */
  revocations(): number;
  /** A token of `kind` the server mints now, in a session of its own. */
  fresh(kind: TokenKind): Promise<Baseline>;
  close(): Promise<void>;
}

/** One HTTP answer, whichever server gave it. */
export interface Answer {
  status: number;
  body: string;
  contentType: string | undefined;
  wwwAuthenticate: string | undefined;
  location: string | undefined;
}

type RouteKind = 'protected' | 'token' | 'introspect' | 'revoke' | 'admin' | 'resource';

interface Route {
  route: string;
  kind: RouteKind;
  takes: TokenKind;
  /** Whether the token travels in a header verbatim (so it can hold only what a header value can). */
  inHeader: boolean;
  send(lab: Lab, token: string): Promise<Answer>;
  /** What the route answers when it accepted the token. */
  accepted(lab: Lab, answer: Answer, revocationsBefore: number): void;
}

export interface Target extends Omit<Route, 'send' | 'accepted'> {
  lab: string;
  /** `GET /api/me/ [HS256]` */
  name: string;
}

const header = (value: string | string[] | number | undefined) =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value);

function fromInject(res: LightMyRequestResponse): Answer {
  return {
    status: res.statusCode,
    body: res.body,
    contentType: header(res.headers['content-type']),
    wwwAuthenticate: header(res.headers['www-authenticate']),
    location: header(res.headers.location),
  };
}

async function fromFetch(res: globalThis.Response): Promise<Answer> {
  return {
    status: res.status,
    body: await res.text(),
    contentType: res.headers.get('content-type') ?? undefined,
    wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
    location: res.headers.get('location') ?? undefined,
  };
}

/** Describes an answer in assertion messages. */
export function show(answer: Answer): string {
  const body = answer.body.length > 300 ? `${answer.body.slice(0, 300)}…` : answer.body;
  return `${answer.status} ${answer.contentType ?? '-'} ${body}`;
}

const labApps = new WeakMap<Lab, Awaited<ReturnType<typeof startAuthServer>>['app']>();
const app = (lab: Lab) => labApps.get(lab) as NonNullable<ReturnType<typeof labApps.get>>;

function bearerRoute(method: 'GET' | 'POST' | 'DELETE', url: string, accepted: Route['accepted'], payload?: Json): Route {
  const path = url.replace('{id}', 'no-such-session');
  return {
    route: `${method} ${url}`,
    kind: 'protected',
    takes: 'access',
    inHeader: true,
    async send(lab, token) {
      return fromInject(
        await app(lab).inject({
          method,
          url: path,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
          ...(payload ? { payload: JSON.stringify(payload) } : {}),
        }),
      );
    },
    accepted,
  };
}

function bodyRoute(url: string, field: 'refresh' | 'token', takes: TokenKind, accepted: Route['accepted']): Route {
  return {
    route: `POST ${url}`,
    kind: 'token',
    takes,
    inHeader: false,
    async send(lab, token) {
      return fromInject(
        await app(lab).inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ [field]: token }),
        }),
      );
    },
    accepted,
  };
}

function oauthRoute(url: string, kind: 'introspect' | 'revoke', takes: TokenKind, accepted: Route['accepted']): Route {
  return {
    route: `POST ${url}`,
    kind,
    takes,
    inHeader: false,
    async send(lab, token) {
      const credentials = Buffer.from(`${lab.client.clientId}:${lab.client.clientSecret}`).toString('base64');
      return fromInject(
        await app(lab).inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${credentials}` },
          payload: new URLSearchParams({ token }).toString(),
        }),
      );
    },
    accepted,
  };
}

const status = (expected: number, body?: string) => (_lab: Lab, answer: Answer) => {
  expect(answer.status, show(answer)).toBe(expected);
  if (body !== undefined) expect(answer.body).toBe(body);
};

/** Every route of a lab that accepts a token, in the order the tests list them. */
const ROUTES: readonly Route[] = [
  bearerRoute('GET', '/api/me/', (lab, answer) => {
    expect(answer.status, show(answer)).toBe(200);
    expect(answer.body).toBe(JSON.stringify({ id: lab.user.id, username: lab.user.username }));
  }),
  bearerRoute('GET', '/api/sessions/', status(200)),
  // Authenticated, then no such session: the 404 proves the token passed.
  bearerRoute('DELETE', '/api/sessions/{id}/', status(404, '{"detail":"Not found.","code":"not_found"}')),
  bearerRoute('POST', '/api/logout/', status(205)),
  bearerRoute('POST', '/api/logout/others/', status(205)),
  bearerRoute('POST', '/api/logout-all/', status(205)),
  // Authenticated, then a wrong old password: the 400 proves the token passed, and nothing changes.
  bearerRoute('POST', '/api/password/', status(400, '{"old_password":["Wrong password."]}'), {
    old_password: 'not the password',
    new_password: 'another password 123',
  }),
  bodyRoute('/api/token/refresh/', 'refresh', 'refresh', (_lab, answer) => {
    expect(answer.status, show(answer)).toBe(200);
    expect(Object.keys(JSON.parse(answer.body) as Json)).toContain('access');
  }),
  bodyRoute('/api/token/verify/', 'token', 'access', status(200, '{}')),
  bodyRoute('/api/token/blacklist/', 'refresh', 'refresh', status(200, '{}')),
  bodyRoute('/api/token/sliding/refresh/', 'token', 'sliding', (_lab, answer) => {
    expect(answer.status, show(answer)).toBe(200);
    expect(Object.keys(JSON.parse(answer.body) as Json)).toEqual(['token']);
  }),
  oauthRoute('/oauth/introspect', 'introspect', 'access', (_lab, answer) => {
    expect(answer.status, show(answer)).toBe(200);
    expect((JSON.parse(answer.body) as Json).active).toBe(true);
  }),
  oauthRoute('/oauth/revoke', 'revoke', 'refresh', (lab, answer, before) => {
    expect(answer.status, show(answer)).toBe(200);
    expect(lab.revocations()).toBeGreaterThan(before);
  }),
  {
    route: 'GET /admin/ (session cookie)',
    kind: 'admin',
    takes: 'refresh',
    inHeader: false,
    async send(lab, token) {
      return fromInject(await app(lab).inject({ method: 'GET', url: '/admin/', headers: { cookie: `revocable_admin=${encodeURIComponent(token)}` } }));
    },
    accepted: status(200),
  },
  {
    route: 'resource server GET /me (Express adapter)',
    kind: 'resource',
    takes: 'access',
    inHeader: true,
    async send(lab, token) {
      return fromFetch(await fetch(`${lab.resource.url}/me`, { headers: { authorization: `Bearer ${token}` } }));
    },
    accepted(lab, answer) {
      expect(answer.status, show(answer)).toBe(200);
      expect((JSON.parse(answer.body) as Json).id).toBe(lab.user.id);
    },
  },
];

const routeOf = (target: Target): Route => ROUTES.find((route) => route.route === target.route) as Route;

function resourceName(spec: LabSpec): string {
  return spec.algorithm === 'HS256' ? 'resource server GET /me (Express adapter, shared secret)' : 'resource server GET /me (Express adapter, JWKS)';
}

/** The targets of the labs: every route of each. */
export function targetsOf(specs: readonly LabSpec[]): Target[] {
  return specs.flatMap((spec) =>
    ROUTES.map(({ send: _send, accepted: _accepted, ...route }) => {
      const shown = route.kind === 'resource' ? resourceName(spec) : route.route;
      return { ...route, lab: spec.name, name: `${shown} [${spec.name}]` };
    }),
  );
}

/** Presents a token to a target. */
export function present(lab: Lab, target: Target, token: string): Promise<Answer> {
  return routeOf(target).send(lab, token);
}

/** What a refusal says: Simple JWT's message for the token (in the route's shape), or a whole 401 body. */
export type Refusal = string | { body: Json };

/** The protected-route 401 of a lab: one entry per accepted token type, as Simple JWT lists them. */
export function protectedRefusal(lab: Lab, message: string | Partial<Record<'access' | 'sliding', string>>): Json {
  const types = (lab.spec.settings?.authTokenTypes ?? ['access']) as ('access' | 'sliding')[];
  const classes = { access: 'AccessToken', sliding: 'SlidingToken' };
  return {
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: types.map((type) => ({
      token_class: classes[type],
      token_type: type,
      message: typeof message === 'string' ? message : message[type],
    })),
  };
}

/**
 * Asserts the route's refusal, exactly: the contract's 401 on protected, token and resource routes
 * (body byte for byte, `WWW-Authenticate`), `{"active":false}` on introspection, a 200 that revoked
 * nothing on revocation, the login redirect on the admin.
 */
export function expectRefused(lab: Lab, target: Target, answer: Answer, refusal: Refusal, revocationsBefore: number): void {
  const context = `${target.name}: ${show(answer)}`;
  expect(answer.status, context).toBeLessThan(500);
  switch (target.kind) {
    case 'protected':
    case 'resource':
    case 'token': {
      const body =
        typeof refusal !== 'string'
          ? refusal.body
          : target.kind === 'token'
            ? { detail: refusal, code: 'token_not_valid' }
            : protectedRefusal(lab, refusal);
      expect({ status: answer.status, body: answer.body }, context).toEqual({ status: 401, body: JSON.stringify(body) });
      expect(answer.contentType, context).toMatch(/^application\/json/);
      expect(answer.wwwAuthenticate, context).toBe(WWW_AUTHENTICATE);
      break;
    }
    case 'introspect':
      expect({ status: answer.status, body: answer.body }, context).toEqual({ status: 200, body: '{"active":false}' });
      break;
    case 'revoke':
      expect({ status: answer.status, body: answer.body }, context).toEqual({ status: 200, body: '' });
      expect(lab.revocations(), `${context}: the refused token revoked something`).toBe(revocationsBefore);
      break;
    case 'admin':
      expect({ status: answer.status, location: answer.location }, context).toEqual({ status: 303, location: '/admin/login' });
      break;
  }
}

/** Asserts that the route accepted the token (the route's own success, or its next check failing after authentication). */
export function expectAccepted(lab: Lab, target: Target, answer: Answer, revocationsBefore: number): void {
  routeOf(target).accepted(lab, answer, revocationsBefore);
}

/** Signs payloads with a lab's real key. */
function realmOf(spec: LabSpec, kid: string | undefined): Realm {
  const signer: Signer =
    spec.algorithm === 'HS256'
      ? { alg: 'HS256', key: SIGNING_KEY }
      : { alg: spec.algorithm, key: createPrivateKey(KEY_PAIRS[spec.algorithm].privateKey) };
  const ownHeader = (): Json => ({ alg: spec.algorithm, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) });
  return {
    signer,
    kid,
    sign: (payload, header = ownHeader()) => jws(header, payload, signer),
    resign: (base, claims = {}, headerPatch = {}) => jws(patched(base.header, headerPatch), patched(base.payload, claims), signer),
  };
}

/** A copy of an object with members set, or removed where the patch says undefined. */
export function patched(object: Json, patch: Json): Json {
  const copy: Json = { ...object };
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) delete copy[name];
    else copy[name] = value;
  }
  return copy;
}

/** Starts a lab. */
export async function openLab(spec: LabSpec): Promise<Lab> {
  const clock = clockAt(0);
  const keySettings = spec.algorithm === 'HS256' ? { signingKey: SIGNING_KEY } : asymmetricSettings(spec.algorithm);
  const settings = { rotateRefreshTokens: true, blacklistAfterRotation: true, ...keySettings, ...spec.settings };
  const running = await startAuthServer({ clock, settings, ...(spec.database ? { database: spec.database } : {}) });
  const { auth } = running;
  let revocations = 0;
  const count = () => {
    revocations++;
  };
  auth.on('tokenBlacklisted', count);
  auth.on('sessionRevoked', count);
  auth.on('userTokensRevoked', count);
  const created = await auth.users.create({ username: 'alice', password: PASSWORD, isStaff: true });
  const client = await auth.clients.create('attack-suite');

  const { keys } = (await running.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Json[] };
  const kid = spec.algorithm === 'HS256' ? undefined : String(keys[0]?.kid);
  const verifier = spec.algorithm === 'HS256' ? { signingKey: SIGNING_KEY } : { algorithm: spec.algorithm, jwkUrl: running.jwkUrl };
  const server = (await resourceServer({
    settings: { ...spec.settings, ...verifier },
    revocations: { database: auth.store },
    clock,
    logger: SILENT,
  })) as ResourceServer;
  const http = createServer(
    express()
      .get('/me', requireAuth(server), (request: Request, response: Response) => {
        const user = request.auth?.user as { id: unknown } | undefined;
        response.json({ id: user?.id, jti: request.auth?.claims.jti });
      })
      .use((error: Error, _request: Request, response: Response, _next: NextFunction) => {
        response.status(500).json({ unexpected: error.message });
      }),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  const lab: Lab = {
    spec,
    auth,
    url: running.url,
    clock,
    user: { id: created.id, username: created.username },
    client,
    realm: realmOf(spec, kid),
    resource: { server, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` },
    publicKeyPem: spec.algorithm === 'HS256' ? undefined : KEY_PAIRS[spec.algorithm].publicKey,
    revocations: () => revocations,
    async fresh(kind) {
      const token =
        kind === 'sliding'
          ? await auth.obtainSlidingToken(created.username, PASSWORD)
          : (await auth.issueTokens(created))[kind];
      return { token, ...readToken(token) };
    },
    async close() {
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
      await server.close();
      await running.stop();
    },
  };
  labApps.set(lab, running.app);
  return lab;
}

/** Opens the labs before the file's tests and closes them after; the targets are known before they open. */
export function useLabs(specs: readonly LabSpec[]): { targets: Target[]; lab(name: string): Lab } {
  const labs = new Map<string, Lab>();
  beforeAll(async () => {
    for (const spec of specs) labs.set(spec.name, await openLab(spec));
  });
  afterAll(async () => {
    for (const lab of [...labs.values()].reverse()) await lab.close();
  });
  return {
    targets: targetsOf(specs),
    lab(name) {
      const lab = labs.get(name);
      if (!lab) throw new Error(`no lab ${name}`);
      return lab;
    },
  };
}

/** The labs most attacks run in: an HMAC server (resource server with the shared secret) and an ES256 one (resource server with the JWKS). */
export const STANDARD_LABS: readonly LabSpec[] = [
  { name: 'HS256', algorithm: 'HS256' },
  { name: 'ES256', algorithm: 'ES256' },
];

/** What a forger gets: the lab, a token of the target's kind the server just minted, and the target. */
export interface ForgeContext {
  lab: Lab;
  base: Baseline;
  target: Target;
}

export interface AttackOptions {
  /** The refusal expected (default: `Token is invalid or expired` in the route's shape). */
  refusal?: Refusal | ((target: Target, lab: Lab) => Refusal);
  /** Only these targets (a token a header cannot carry, say). */
  only?: (target: Target) => boolean;
  /** Checked once the route has answered (that nothing was fetched, say). */
  after?: (context: ForgeContext) => void | Promise<void>;
}

/**
 * One named test per target: `<title> is refused on <route> [<lab>]`. The forger builds the token from a
 * fresh server-minted one; the route must give its exact refusal, never a 500, and revoke nothing.
 */
export function attack(
  labs: ReturnType<typeof useLabs>,
  title: string,
  forge: (context: ForgeContext) => string | Promise<string>,
  options: AttackOptions = {},
): void {
  for (const target of labs.targets.filter(options.only ?? (() => true))) {
    it(`${title} is refused on ${target.name}`, async () => {
      const lab = labs.lab(target.lab);
      const base = await lab.fresh(target.takes);
      const token = await forge({ lab, base, target });
      const before = lab.revocations();
      const answer = await present(lab, target, token);
      const refusal = typeof options.refusal === 'function' ? options.refusal(target, lab) : (options.refusal ?? INVALID);
      expectRefused(lab, target, answer, refusal, before);
      await options.after?.({ lab, base, target });
    });
  }
}

/** The positive twin of {@link attack}: `<title> is accepted on <route> [<lab>]`. */
export function accepts(
  labs: ReturnType<typeof useLabs>,
  title: string,
  forge: (context: ForgeContext) => string | Promise<string>,
  options: Pick<AttackOptions, 'only' | 'after'> = {},
): void {
  for (const target of labs.targets.filter(options.only ?? (() => true))) {
    it(`${title} is accepted on ${target.name}`, async () => {
      const lab = labs.lab(target.lab);
      const base = await lab.fresh(target.takes);
      const token = await forge({ lab, base, target });
      const before = lab.revocations();
      expectAccepted(lab, target, await present(lab, target, token), before);
      await options.after?.({ lab, base, target });
    });
  }
}

/** Whether a string can be an HTTP header value at all (no controls but tab, nothing beyond Latin-1). */
export const fitsInHeader = (token: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(token);
