/**
 * Bad input on every endpoint: whatever arrives, the answer is a 4xx (never a 500) with a JSON body in
 * the contract's shape: `{"detail": string, ...}` or a DRF field-error object.
 */
import { connect } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { testServer } from '../helpers.ts';
import { selectTestDatabases } from '../support/databases.ts';
import { BLACKLISTED, NO_ID, WWW_AUTHENTICATE, bearer, login, postJson, protectedRouteError, signToken, tokenError } from './support.ts';

interface Endpoint {
  method: 'GET' | 'POST';
  url: string;
  /** The body fields the endpoint reads. */
  fields: readonly string[];
  /** Plausible but wrong values for the fields a case does not vary, so that no request can succeed. */
  filler: Record<string, string>;
  authenticated: boolean;
}

const ENDPOINTS: readonly Endpoint[] = [
  {
    method: 'POST',
    url: '/api/token/',
    fields: ['username', 'password'],
    filler: { username: 'no-such-user', password: 'wrong password' },
    authenticated: false,
  },
  { method: 'POST', url: '/api/token/refresh/', fields: ['refresh'], filler: { refresh: 'garbage' }, authenticated: false },
  { method: 'POST', url: '/api/token/verify/', fields: ['token'], filler: { token: 'garbage' }, authenticated: false },
  { method: 'POST', url: '/api/token/blacklist/', fields: ['refresh'], filler: { refresh: 'garbage' }, authenticated: false },
  { method: 'GET', url: '/api/me/', fields: [], filler: {}, authenticated: true },
  { method: 'POST', url: '/api/logout/', fields: [], filler: {}, authenticated: true },
  { method: 'POST', url: '/api/logout-all/', fields: [], filler: {}, authenticated: true },
  {
    method: 'POST',
    url: '/api/password/',
    fields: ['old_password', 'new_password'],
    filler: { old_password: 'not the old password', new_password: 'a new password 123' },
    authenticated: true,
  },
];

interface Case {
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Send a valid access token (replaced by `headers.authorization` when that is set). */
  withToken: boolean;
  /** The exact status, where the contract fixes one; otherwise any 4xx. */
  status?: number;
  /** The exact body, where the contract fixes one. */
  body?: unknown;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ONE_MB_STRING = 'a'.repeat(1_000_000);
const TWO_MB = 'x'.repeat(2 * 1024 * 1024);
const TEN_KB_TOKEN = `${'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'}.${'A'.repeat(10 * 1024)}.${'B'.repeat(43)}`;
const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]);

/** Raw JSON texts for a field's value: every type but a string, and strings that are too long. */
const WRONG_VALUES: readonly [string, string][] = [
  ['a number', '12345'],
  ['a huge number (1e400)', '1e400'],
  ['an array', '["a"]'],
  ['null', 'null'],
  ['an object', '{"a":1}'],
  ['a boolean', 'true'],
  ['a 1 MB string', JSON.stringify(ONE_MB_STRING)],
  ['a 10 kB token', JSON.stringify(TEN_KB_TOKEN)],
  ['a string with a null character', '"a\\u0000b"'],
];

/** A JSON object text with `raw` (JSON text) as the value of `field` and filler elsewhere. */
function objectWith(endpoint: Endpoint, field: string, raw: string): string {
  const parts = endpoint.fields.map((name) =>
    name === field ? `${JSON.stringify(name)}:${raw}` : `${JSON.stringify(name)}:${JSON.stringify(endpoint.filler[name])}`,
  );
  return `{${parts.join(',')}}`;
}

/** A well-formed body of filler values. */
function fillerBody(endpoint: Endpoint): string {
  return JSON.stringify(Object.fromEntries(endpoint.fields.map((name) => [name, endpoint.filler[name]])));
}

function casesFor(endpoint: Endpoint): Case[] {
  const readsBody = endpoint.fields.length > 0;
  // Routes that never read a body answer 401 to an unauthenticated request whatever the body; with a
  // valid token they would (legitimately, as DRF does) ignore the body and succeed.
  const base = {
    method: endpoint.method,
    url: endpoint.url,
    withToken: readsBody && endpoint.authenticated,
  };
  const bodyStatus = (status: number) => (readsBody ? status : 401);
  const cases: Case[] = [];
  const add = (c: Omit<Case, 'method' | 'url' | 'withToken'> & Partial<Case>) => cases.push({ ...base, ...c });

  // Body syntax.
  add({ label: 'malformed JSON', headers: JSON_TYPE, payload: '{"a": tru}', status: bodyStatus(400) });
  add({ label: 'not JSON at all', headers: JSON_TYPE, payload: "{'single': 'quotes'}", status: bodyStatus(400) });
  add({ label: 'truncated JSON', headers: JSON_TYPE, payload: '{"refresh": "abc', status: bodyStatus(400) });
  add({ label: 'JSON with trailing garbage', headers: JSON_TYPE, payload: '{}}', status: bodyStatus(400) });
  add({
    label: 'invalid UTF-8 bytes in a JSON body',
    headers: JSON_TYPE,
    payload: Buffer.concat([Buffer.from('{"x":"'), INVALID_UTF8, Buffer.from('"}')]),
    status: bodyStatus(400),
  });
  add({
    label: 'invalid UTF-8 bytes in a form body',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: Buffer.concat([Buffer.from('x='), INVALID_UTF8]),
    status: bodyStatus(400),
  });
  add({
    label: 'multipart without a boundary',
    headers: { 'content-type': 'multipart/form-data' },
    payload: 'garbage',
    status: bodyStatus(400),
  });
  for (const raw of ['[]', '"x"', '1', 'null', 'true']) {
    add({ label: `non-object JSON ${raw}`, headers: JSON_TYPE, payload: raw, status: bodyStatus(400) });
  }
  add({ label: 'empty body with a JSON content type', headers: JSON_TYPE, payload: '', status: bodyStatus(400) });
  add({ label: 'empty body without a content type', headers: {}, status: bodyStatus(400) });
  add({
    label: 'prototype keys only',
    headers: JSON_TYPE,
    payload: `{"__proto__":${fillerBody(endpoint)},"constructor":{"prototype":${fillerBody(endpoint)}}}`,
    status: bodyStatus(400),
  });

  // Media types.
  // The last three are not even syntactically media types: DRF still answers its 415 (the route's job).
  const types = ['text/plain', 'application/xml', 'application/vnd.api+json', 'application/jsön', 'json', 'not a media type'];
  for (const type of types) {
    add({
      label: `content type ${type}`,
      headers: { 'content-type': type },
      payload: fillerBody(endpoint),
      status: bodyStatus(415),
      ...(readsBody ? { body: { detail: `Unsupported media type "${type}" in request.` } } : {}),
    });
  }

  // Size: over the 1 MiB limit. A GET body is never read, so GET /api/me/ answers its 401.
  add({ label: 'a 2 MB body', headers: JSON_TYPE, payload: TWO_MB, status: endpoint.method === 'GET' ? 401 : 413 });
  if (endpoint.method === 'GET') {
    add({ label: 'a 2 MB body on POST (405 route)', method: 'POST', headers: JSON_TYPE, payload: TWO_MB, status: 413 });
  }

  // Field types.
  for (const field of endpoint.fields) {
    for (const [name, raw] of WRONG_VALUES) {
      add({ label: `"${field}" is ${name}`, headers: JSON_TYPE, payload: objectWith(endpoint, field, raw) });
    }
  }

  // Authorization header.
  const headerCases: [string, string][] = [
    ['a 10 kB token in the Authorization header', `Bearer ${TEN_KB_TOKEN}`],
    ['a non-ASCII Authorization header (Bearer é…)', 'Bearer é…'],
    ['a non-ASCII Authorization header (Bearer ünïcödé)', 'Bearer ünïcödé'],
    ['an astral-plane Authorization header', 'Bearer \u{1F600}.\u{1F600}.\u{1F600}'],
    ['a non-ASCII scheme', 'Béarer token'],
  ];
  for (const [label, authorization] of headerCases) {
    add({
      label,
      headers: { ...JSON_TYPE, authorization },
      payload: fillerBody(endpoint),
      ...(endpoint.authenticated ? { status: 401 } : {}),
    });
  }
  return cases;
}

const CASES: Case[] = ENDPOINTS.flatMap(casesFor);

/** `{"detail": string, ...}`, or a DRF field-error object (every value a non-empty array of strings). */
function isErrorBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  if (Object.hasOwn(record, 'detail')) return typeof record.detail === 'string';
  const values = Object.values(record);
  return (
    values.length > 0 &&
    values.every((value) => Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string'))
  );
}

function describeAnswer(res: LightMyRequestResponse): string {
  const body = res.body.length > 300 ? `${res.body.slice(0, 300)}…` : res.body;
  return `${res.statusCode} ${res.headers['content-type']} ${body}`;
}

describe('bad input on every endpoint', () => {
  let app: FastifyInstance;
  let auth: Auth;
  let access: string;

  beforeAll(async () => {
    ({ app, auth } = await testServer());
    await auth.users.create({ username: 'bad-input', password: 'the right password' });
    access = (await login(app, 'bad-input', 'the right password')).access;
  });
  afterAll(async () => {
    await app?.close();
    await auth?.close();
  });

  it.each(CASES)('$method $url: $label', async (c) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.withToken && headers.authorization === undefined) headers.authorization = `Bearer ${access}`;
    const res = await app.inject({
      method: c.method as 'GET' | 'POST',
      url: c.url,
      headers,
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    });
    const answer = describeAnswer(res);
    expect(res.statusCode, answer).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, answer).toBeLessThan(500);
    if (c.status !== undefined) expect(res.statusCode, answer).toBe(c.status);
    expect(res.headers['content-type'], answer).toBe('application/json');
    let body: unknown;
    expect(() => {
      body = JSON.parse(res.body);
    }, answer).not.toThrow();
    expect(isErrorBody(body), answer).toBe(true);
    if (c.body !== undefined) expect(res.body).toBe(JSON.stringify(c.body));
    if (res.statusCode === 401) expect(res.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    else expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('the valid token used above still works (no case revoked anything)', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/me/', headers: { authorization: `Bearer ${access}` } });
    expect(res.statusCode, res.body).toBe(200);
  });
});

/** Sends raw bytes over TCP and returns the raw answer (the request asks the server to close). */
function rawRequest(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    });
    socket.write(request);
  });
}

function parseRawAnswer(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split + 4);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('raw UTF-8 bytes in a header, over a real socket', () => {
  let app: FastifyInstance;
  let auth: Auth;

  beforeAll(async () => {
    ({ app, auth } = await testServer());
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await auth?.close();
  });

  it('answers a 4xx JSON error, and the server keeps answering afterwards', async () => {
    const { port } = app.server.address() as { port: number };
    const request = Buffer.concat([
      Buffer.from('GET /api/me/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: ', 'latin1'),
      Buffer.from('Bearer ünïcödé', 'utf8'),
      Buffer.from('\r\n\r\n', 'latin1'),
    ]);
    const answer = parseRawAnswer(await rawRequest(port, request));
    // Node's parser accepts bytes >= 0x80 in a header value (obs-text); the route then refuses the token.
    expect(answer.status, JSON.stringify(answer)).toBeGreaterThanOrEqual(400);
    expect(answer.status, JSON.stringify(answer)).toBeLessThan(500);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(isErrorBody(JSON.parse(answer.body))).toBe(true);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    expect(answer.body).toBe(
      '{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}',
    );

    const after = await fetch(`http://127.0.0.1:${port}/api/me/`);
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/json');
    expect(await after.text()).toBe('{"detail":"Authentication credentials were not provided."}');
  });
});

/**
 * Regressions found by fuzzing (`npm run fuzz`, fuzz/): tokens signed with the right key whose claims
 * have a JSON type revocable does not expect. A `jti` that is an object with a `toString` member made
 * `String(jti)` throw (500 on every route that reads a token); an access token whose `user_id` is such
 * an object made `POST /oauth/revoke` throw (500); a `jti` that is an array read as its elements
 * joined (`[]` as an empty id, `["x"]` as the id `x`).
 */
describe('claims of the wrong JSON type, in a token signed with the right key', () => {
  let app: FastifyInstance;
  let auth: Auth;
  let client: { clientId: string; clientSecret: string };
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (type: 'access' | 'refresh', patch: Record<string, unknown>) => ({
    token_type: type,
    exp: now() + 300,
    iat: now(),
    jti: 'ab'.repeat(16),
    user_id: 1,
    ...patch,
  });

  beforeAll(async () => {
    ({ app, auth } = await testServer());
    await auth.users.create({ username: 'typed', password: 'pw' });
    client = await auth.clients.create('fuzz regressions');
  });
  afterAll(async () => {
    await app?.close();
    await auth?.close();
  });

  // The fuzzer's input: {"token_type":"access",…,"jti":{"toString":1},"user_id":1,…}, HS256, the right key.
  for (const jti of [{ toString: 1 }, { toString: 1, valueOf: 1 }, [], ['x'], {}]) {
    const label = JSON.stringify(jti);
    it(`jti ${label}: "Token has no id" on verify, refresh, blacklist and a protected route; inactive to introspection`, async () => {
      const access = signToken(claims('access', { jti }));
      const refresh = signToken(claims('refresh', { jti }));
      const verify = await postJson(app, '/api/token/verify/', { token: access });
      expect({ status: verify.statusCode, body: verify.json() }).toEqual({ status: 401, body: tokenError(NO_ID) });
      for (const url of ['/api/token/refresh/', '/api/token/blacklist/']) {
        const res = await postJson(app, url, { refresh });
        expect({ url, status: res.statusCode, body: res.json() }).toEqual({ url, status: 401, body: tokenError(NO_ID) });
      }
      const me = await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(access) });
      expect(me.statusCode, me.body).toBe(401);
      expect(me.json()).toEqual(protectedRouteError(NO_ID));
      const credentials = { client_id: client.clientId, client_secret: client.clientSecret };
      const introspect = await postJson(app, '/oauth/introspect', { token: access, ...credentials });
      expect({ status: introspect.statusCode, body: introspect.body }).toEqual({ status: 200, body: '{"active":false}' });
      const revoke = await postJson(app, '/oauth/revoke', { token: refresh, ...credentials });
      expect({ status: revoke.statusCode, body: revoke.body }).toEqual({ status: 200, body: '' });
    });
  }

  it('an array jti does not stand for the string it holds: ["x"] is not the blacklisted "x"', async () => {
    const plain = signToken(claims('access', { jti: 'x' }));
    const logout = await app.inject({ method: 'POST', url: '/api/logout/', headers: bearer(plain) });
    expect(logout.statusCode, logout.body).toBe(205);
    const wrapped = await postJson(app, '/api/token/verify/', { token: signToken(claims('access', { jti: ['x'] })) });
    expect(wrapped.json()).toEqual(tokenError(NO_ID));
  });

  it('POST /oauth/revoke of an access token whose user_id is {"toString":1}: 200, and the token is revoked', async () => {
    const access = signToken(claims('access', { jti: 'cd'.repeat(16), user_id: { toString: 1 } }));
    const revoke = await postJson(app, '/oauth/revoke', { token: access, client_id: client.clientId, client_secret: client.clientSecret });
    expect({ status: revoke.statusCode, body: revoke.body }).toEqual({ status: 200, body: '' });
    const verify = await postJson(app, '/api/token/verify/', { token: access });
    expect(verify.json()).toEqual(tokenError(BLACKLISTED));
  });
});

/**
 * Found by fuzzing on PostgreSQL (`npm run fuzz -- --target http --database postgres`): a username with a
 * null character made the login's user lookup fail in PostgreSQL (text cannot hold U+0000), a 500 to an
 * unauthenticated request. DRF's CharField refuses such values (Django's ProhibitNullCharactersValidator),
 * so they now get DRF's 400 on every route, whatever the database.
 */
describe('a null character in a field', () => {
  let app: FastifyInstance;
  let auth: Auth;

  beforeAll(async () => {
    ({ app, auth } = await testServer());
    await auth.users.create({ username: 'nul', password: 'pw' });
  });
  afterAll(async () => {
    await app?.close();
    await auth?.close();
  });

  it('the fuzzer\'s input: POST /api/token/sliding/ with a username holding U+0000 → 400, DRF\'s message', async () => {
    const res = await postJson(app, '/api/token/sliding/', { username: '\ud808\ude59\u7e2e\u0000', password: 'the fuzz password 123', constructor: "4Buh'T1\\" });
    expect({ status: res.statusCode, body: res.body }).toEqual({ status: 400, body: '{"username":["Null characters are not allowed."]}' });
  });

  it.each([
    ['/api/token/', { username: 'nul\u0000', password: 'pw' }, '{"username":["Null characters are not allowed."]}'],
    ['/api/token/', { username: 'nul', password: 'p\u0000w' }, '{"password":["Null characters are not allowed."]}'],
    ['/api/token/refresh/', { refresh: 'a.b\u0000.c' }, '{"refresh":["Null characters are not allowed."]}'],
    ['/api/token/verify/', { token: '\u0000' }, '{"token":["Null characters are not allowed."]}'],
    ['/api/token/blacklist/', { refresh: ' \u0000 ' }, '{"refresh":["Null characters are not allowed."]}'],
  ])('POST %s %j → 400 %s', async (url, body, expected) => {
    const res = await postJson(app, url, body);
    expect({ status: res.statusCode, body: res.body }).toEqual({ status: 400, body: expected });
  });

  it('in a form body too', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=nul%00&password=pw',
    });
    expect({ status: res.statusCode, body: res.body }).toEqual({ status: 400, body: '{"username":["Null characters are not allowed."]}' });
  });
});

/**
 * The same inputs on every store: on PostgreSQL (found by `npm run fuzz -- --target http --database
 * postgres`), a null character in a username, or in an OAuth client id (in the body or in HTTP Basic),
 * reached a query and failed it (PostgreSQL text cannot hold U+0000): a 500 to anyone. Now 400 (DRF's
 * answer) and 401 `invalid_client`.
 */
const selection = await selectTestDatabases();
for (const kind of selection.kinds) {
  if (!kind.reachable && selection.required) {
    it(`null characters on ${kind.name}: reachable at ${kind.location} (REVOCABLE_REQUIRE_STORES=1)`, () => {
      throw new Error(`${kind.name} is not reachable at ${kind.location}: ${kind.problem}`);
    });
    continue;
  }
  describe.skipIf(!kind.reachable)(`null characters on ${kind.name}`, () => {
    it('a login, an OAuth client id in the body and in HTTP Basic: 4xx, never a 500', async () => {
      const database = await kind.create();
      const store = await database.open();
      const { app, auth } = await testServer({ database: store });
      try {
        await auth.users.create({ username: 'nul', password: 'pw' });
        const login = await postJson(app, '/api/token/', { username: 'nul\u0000', password: 'pw' });
        expect({ status: login.statusCode, body: login.body }).toEqual({ status: 400, body: '{"username":["Null characters are not allowed."]}' });
        const invalidClient = '{"error":"invalid_client","error_description":"Client authentication failed."}';
        for (const url of ['/oauth/introspect', '/oauth/revoke']) {
          const inBody = await postJson(app, url, { token: 'x', client_id: 'a\u0000', client_secret: 'x' });
          expect({ url, status: inBody.statusCode, body: inBody.body }).toEqual({ url, status: 401, body: invalidClient });
          const basic = await postJson(app, url, { token: 'x' }, { authorization: `Basic ${Buffer.from('a\u0000:x').toString('base64')}` });
          expect({ url, status: basic.statusCode, body: basic.body }).toEqual({ url, status: 401, body: invalidClient });
        }
        const stream = await app.inject({ method: 'GET', url: '/api/revocations/stream/', headers: { authorization: `Basic ${Buffer.from('a%00:x').toString('base64')}` } });
        expect({ status: stream.statusCode, body: stream.body }).toEqual({ status: 401, body: invalidClient });
      } finally {
        await app.close();
        await auth.close();
        await database.dispose();
      }
    }, 60_000);
  });
}
