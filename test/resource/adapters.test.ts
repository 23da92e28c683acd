import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAuth as expressRequireAuth } from '../../src/adapters/express.ts';
import { revocable } from '../../src/adapters/fastify.ts';
import { requireAuth as honoRequireAuth } from '../../src/adapters/hono.ts';
import type { Auth } from '../../src/auth.ts';
import type { ResourceServer, ResourceServerOptions } from '../../src/resource/resource-server.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { SIGNING_KEY, decodePayload, tempDir, testServer } from '../helpers.ts';
import { claimsFor, signToken, without } from '../http/support.ts';
import { eventually } from '../support/processes.ts';
import { outcome, resourceServer } from './support.ts';

/**
 * The Express, Fastify and Hono adapters in front of a resource server: the same answers as Simple
 * JWT's protected routes (and so as the auth server's own `GET /api/me/`), byte for byte, plus 503
 * when the revocation state is stale. Express runs on a real HTTP server, Fastify through `inject`,
 * Hono through `app.request`.
 */

/** What an adapter answered. */
interface Answer {
  status: number;
  body: string;
  wwwAuthenticate: string | undefined;
  contentType: string | undefined;
}
type Call = (headers: Record<string, string>, path?: string) => Promise<Answer>;
type AdapterName = 'express' | 'fastify' | 'hono';
const ADAPTERS: AdapterName[] = ['express', 'fastify', 'hono'];

/** A host application's own users (database-backed authentication). */
interface HostUser {
  id: number;
  name: string;
  isActive: boolean;
}

const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** The protected route each adapter serves: the user id it put on the request, and the user's shape. */
function routeBody(auth: { user: unknown; claims: Record<string, unknown> } | undefined | null) {
  if (!auth) throw new Error('the route ran without authentication');
  const user = auth.user as { id: number; name?: string; isActive?: boolean };
  return { id: user.id, name: user.name ?? null, jti: auth.claims.jti };
}

async function expressApp(server: ResourceServer<unknown>): Promise<Call> {
  const app = express();
  app.get('/me', expressRequireAuth(server), (request: Request, response: Response) => {
    response.json(routeBody(request.auth));
  });
  app.use((error: Error, _request: Request, response: Response, _next: NextFunction) => {
    response.status(500).json({ unexpected: error.message });
  });
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  );
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return async (headers, path = '/me') => {
    const res = await fetch(`${url}${path}`, { headers });
    return {
      status: res.status,
      body: await res.text(),
      wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
      contentType: res.headers.get('content-type') ?? undefined,
    };
  };
}

async function fastifyApp(server: ResourceServer<unknown>, global = false): Promise<Call> {
  const app: FastifyInstance = Fastify();
  await app.register(revocable, { server, global });
  if (global) app.get('/me', async (request) => routeBody(request.auth));
  else app.get('/me', { onRequest: app.requireAuth }, async (request) => routeBody(request.auth));
  app.get('/open', async (request) => ({ auth: request.auth }));
  await app.ready();
  closers.push(() => app.close());
  return async (headers, path = '/me') => {
    const res = await app.inject({ method: 'GET', url: path, headers });
    const header = (name: string) => (res.headers[name] === undefined ? undefined : String(res.headers[name]));
    return { status: res.statusCode, body: res.body, wwwAuthenticate: header('www-authenticate'), contentType: header('content-type') };
  };
}

async function honoApp(server: ResourceServer<unknown>): Promise<Call> {
  const app = new Hono();
  app.get('/me', honoRequireAuth(server), (c) => c.json(routeBody(c.get('auth'))));
  app.onError((error, c) => c.json({ unexpected: error.message }, 500));
  return async (headers, path = '/me') => {
    const res = await app.request(path, { headers });
    return {
      status: res.status,
      body: await res.text(),
      wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
      contentType: res.headers.get('content-type') ?? undefined,
    };
  };
}

const BUILD: Record<AdapterName, (server: ResourceServer<unknown>) => Promise<Call>> = {
  express: expressApp,
  fastify: (server) => fastifyApp(server),
  hono: honoApp,
};

let auth: Auth;
let authApp: FastifyInstance;
let aliceId: number;
let bobId: number;
let carolId: number;
let hostUsers: Map<number, HostUser>;
let lookups: number[];
/** Resource servers: stateless, database-backed (host users), stale, and with other header settings. */
const servers = {} as Record<'stateless' | 'backed' | 'stale' | 'customHeader' | 'failing', ResourceServer<unknown>>;
const calls = {} as Record<AdapterName, Record<keyof typeof servers, Call>>;

const newRs = async <U>(options: ResourceServerOptions<U>) => {
  const server = await resourceServer(options);
  closers.push(() => server.close());
  return server as ResourceServer<unknown>;
};

beforeAll(async () => {
  const dir = tempDir();
  closers.push(() => dir.remove());
  const database = `sqlite:${join(dir.path, 'auth.sqlite3')}`;
  // The auth server and the resource servers share an in-process bus: revocations arrive within moments.
  ({ auth, app: authApp } = await testServer({ database, bus: 'memory:adapters' }));
  closers.push(() => auth.close());
  closers.push(() => authApp.close());
  aliceId = (await auth.users.create({ username: 'alice', password: 'pw' })).id;
  bobId = (await auth.users.create({ username: 'bob', password: 'pw' })).id;
  carolId = (await auth.users.create({ username: 'carol', password: 'pw' })).id;
  // The host application knows alice (active) and bob (inactive); carol is not one of its users.
  hostUsers = new Map([
    [aliceId, { id: aliceId, name: 'Alice A.', isActive: true }],
    [bobId, { id: bobId, name: 'Bob B.', isActive: false }],
  ]);
  lookups = [];
  const revocations = { database, bus: 'memory:adapters' };
  servers.stateless = await newRs({ settings: { signingKey: SIGNING_KEY }, revocations });
  servers.backed = await newRs<HostUser>({
    settings: { signingKey: SIGNING_KEY },
    revocations,
    findUser: (userId) => {
      lookups.push(Number(userId));
      return hostUsers.get(Number(userId));
    },
  });
  servers.customHeader = await newRs({
    settings: { signingKey: SIGNING_KEY, authHeaderTypes: ['JWT', 'Bearer'], authHeaderName: 'X-Access-Token' },
    revocations,
  });
  servers.failing = await newRs({
    settings: { signingKey: SIGNING_KEY },
    revocations,
    findUser: () => {
      throw new Error('the user table is gone');
    },
  });
  // Stale: its store is closed behind its back, so its log reads fail past maxRevocationStaleness.
  const staleStore: Store = await openStore(database);
  servers.stale = await newRs({
    settings: { signingKey: SIGNING_KEY, revocationPollInterval: 0.1, maxRevocationStaleness: 0.5 },
    revocations: { database: staleStore },
  });
  await staleStore.close();
  for (const adapter of ADAPTERS) {
    calls[adapter] = {} as Record<keyof typeof servers, Call>;
    for (const name of Object.keys(servers) as (keyof typeof servers)[]) {
      calls[adapter][name] = await BUILD[adapter](servers[name]);
    }
  }
  const token = (await auth.issueTokens((await auth.users.findByUsername('alice'))!)).access;
  expect(await eventually(async () => (await outcome(servers.stale, token)) === 'stale', 15_000)).toBe(true);
});

const login = async (username: string) => auth.issueTokens((await auth.users.findByUsername(username))!);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What the auth server's own protected route answers: the contract's reference (Simple JWT's bodies). */
async function reference(headers: Record<string, string>): Promise<Answer> {
  const res = await authApp.inject({ method: 'GET', url: '/api/me/', headers });
  const header = (name: string) => (res.headers[name] === undefined ? undefined : String(res.headers[name]));
  return { status: res.statusCode, body: res.body, wwwAuthenticate: header('www-authenticate'), contentType: header('content-type') };
}

const NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}';
const TOKEN_NOT_VALID = (message: string) =>
  JSON.stringify({
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
  });

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  const call = (server: keyof typeof servers, headers: Record<string, string>) => calls[adapter][server](headers);

  it('200 with the user id from the token (stateless: no lookup, the user is the token)', async () => {
    const { access } = await login('alice');
    const res = await call('stateless', bearer(access));
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ id: aliceId, name: null, jti: decodePayload(access).jti });
    // A token for a user the host does not know still passes statelessly: nothing is looked up.
    expect((await call('stateless', bearer((await login('carol')).access))).status).toBe(200);
    // Two spaces are fine: the header is split on whitespace.
    expect((await call('stateless', { authorization: `Bearer  ${access}` })).status).toBe(200);
  });

  it('no header, or another scheme: 401 "credentials were not provided", with the Bearer challenge', async () => {
    const { access } = await login('alice');
    const headerSets: Record<string, string>[] = [
      {},
      { authorization: `Token ${access}` },
      { authorization: `bearer ${access}` },
      { authorization: 'Basic YTpi' },
      { authorization: access },
    ];
    for (const headers of headerSets) {
      const res = await call('stateless', headers);
      expect(res.status).toBe(401);
      expect(res.body).toBe(NOT_PROVIDED);
      expect(res.wwwAuthenticate).toBe('Bearer realm="api"');
      expect(res.contentType).toMatch(/^application\/json/);
      expect(res).toEqual({ ...(await reference(headers)), contentType: res.contentType });
    }
  });

  it('a garbage, tampered, expired or wrong-type token: 401 token_not_valid with the messages', async () => {
    const { access, refresh } = await login('alice');
    const expired = signToken(claimsFor('access', aliceId, Date.now() - 3_600_000));
    const cases: [string, string][] = [
      ['garbage', 'Token is invalid or expired'],
      [`${access.slice(0, -2)}xx`, 'Token is invalid or expired'],
      [expired, 'Token is invalid or expired'],
      [refresh, 'Token has wrong type'],
      [signToken(without(claimsFor('access', aliceId), 'jti')), 'Token has no id'],
    ];
    for (const [token, message] of cases) {
      const res = await call('stateless', bearer(token));
      expect(res.status).toBe(401);
      expect(res.body).toBe(TOKEN_NOT_VALID(message));
      expect(res.wwwAuthenticate).toBe('Bearer realm="api"');
      expect(res).toEqual({ ...(await reference(bearer(token))), contentType: res.contentType });
    }
  });

  it('"Bearer a b" and a bare "Bearer": 401 bad_authorization_header', async () => {
    for (const authorization of ['Bearer a b', 'Bearer']) {
      const res = await call('stateless', { authorization });
      expect(res.status).toBe(401);
      expect(res.body).toBe('{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}');
      expect(res.wwwAuthenticate).toBe('Bearer realm="api"');
      expect(res).toEqual({ ...(await reference({ authorization })), contentType: res.contentType });
    }
  });

  it('a token without the user id claim: 401 "no recognizable user identification"', async () => {
    const token = signToken(without(claimsFor('access', aliceId), 'user_id'));
    const res = await call('stateless', bearer(token));
    expect(res.status).toBe(401);
    expect(res.body).toBe('{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}');
    expect(res).toEqual({ ...(await reference(bearer(token))), contentType: res.contentType });
  });

  it('revoked: 401 with the message "Token is blacklisted", as the auth server answers', async () => {
    const pair = await login('alice');
    expect((await call('stateless', bearer(pair.access))).status).toBe(200);
    await auth.blacklist(pair.refresh);
    expect(await eventually(async () => (await outcome(servers.stateless, pair.access)) === 'revoked', 15_000)).toBe(true);
    const res = await call('stateless', bearer(pair.access));
    expect(res.status).toBe(401);
    expect(res.body).toBe(TOKEN_NOT_VALID('Token is blacklisted'));
    expect(res.wwwAuthenticate).toBe('Bearer realm="api"');
    expect(res).toEqual({ ...(await reference(bearer(pair.access))), contentType: res.contentType });
  });

  it('stale revocation state: 503 revocation_state_stale (fail closed), no challenge', async () => {
    const { access } = await login('alice');
    const res = await call('stale', bearer(access));
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      detail: 'Cannot confirm that the token has not been revoked: the revocation state is stale.',
      code: 'revocation_state_stale',
    });
    expect(res.contentType).toMatch(/^application\/json/);
    expect(res.wwwAuthenticate).toBeUndefined();
    // An invalid token is still a 401: staleness only ever refuses what would otherwise pass.
    expect((await call('stale', bearer('garbage'))).status).toBe(401);
  });

  it('database-backed (findUser): the host user on the request; unknown user_not_found, inactive user_inactive', async () => {
    const before = lookups.length;
    const alice = await call('backed', bearer((await login('alice')).access));
    expect(alice.status, alice.body).toBe(200);
    expect(JSON.parse(alice.body)).toMatchObject({ id: aliceId, name: 'Alice A.' });

    const carol = await call('backed', bearer((await login('carol')).access));
    expect(carol.status).toBe(401);
    expect(carol.body).toBe('{"detail":"User not found","code":"user_not_found"}');
    expect(carol.wwwAuthenticate).toBe('Bearer realm="api"');

    const bob = await call('backed', bearer((await login('bob')).access));
    expect(bob.status).toBe(401);
    expect(bob.body).toBe('{"detail":"User is inactive","code":"user_inactive"}');
    expect(bob.wwwAuthenticate).toBe('Bearer realm="api"');
    expect(lookups.slice(before)).toEqual([aliceId, carolId, bobId]);

    // The same tokens pass a stateless resource server: it looks nothing up.
    expect((await call('stateless', bearer((await login('bob')).access))).status).toBe(200);
    // A token that fails verification is never looked up.
    await call('backed', bearer('garbage'));
    expect(lookups.slice(before)).toHaveLength(3);
  });

  it('an unexpected error (the user lookup throws) is the framework’s 500, not a 401', async () => {
    const res = await call('failing', bearer((await login('alice')).access));
    expect(res.status).toBe(500);
    expect(res.wwwAuthenticate).toBeUndefined();
    expect(res.body).not.toContain('token_not_valid');
  });

  it('the header name and types of the settings: the challenge names the first type', async () => {
    const { access } = await login('alice');
    expect((await call('customHeader', { 'x-access-token': `JWT ${access}` })).status).toBe(200);
    expect((await call('customHeader', { 'x-access-token': `Bearer ${access}` })).status).toBe(200);
    const ignored = await call('customHeader', bearer(access));
    expect(ignored.status).toBe(401);
    expect(ignored.body).toBe(NOT_PROVIDED);
    expect(ignored.wwwAuthenticate).toBe('JWT realm="api"');
  });
});

describe('Fastify plugin options', () => {
  it('global: every route of the instance requires authentication', async () => {
    const call = await fastifyApp(servers.stateless, true);
    const { access } = await login('alice');
    expect((await call(bearer(access))).status).toBe(200);
    const refused = await call({}, '/open');
    expect(refused.status).toBe(401);
    expect(refused.body).toBe(NOT_PROVIDED);
  });

  it('without global, a route without the hook is open and request.auth is null', async () => {
    const call = await fastifyApp(servers.stateless);
    const res = await call({}, '/open');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ auth: null });
  });
});
