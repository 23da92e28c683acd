/**
 * The HTTP fuzz target: random requests to the real Fastify server of `buildServer` (SQLite in memory),
 * through `app.inject`. Every JSON route is drawn often, with bodies of every shape and encoding and
 * Authorization headers of every kind; random methods and paths are drawn too. Properties: never a 5xx,
 * never a thrown error, and every answer in the documented shape (docs/api.md).
 */
import { METHODS } from 'node:http';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { type Auth, createAuth } from '../src/auth.ts';
import { buildServer } from '../src/http/fastify.ts';
import type { User } from '../src/users/users.ts';
import type { Outcome, Target } from './target.ts';
import { FAST_HASHING, FUZZ_SIGNING_KEY, WRONG_SIGNING_KEY, countingLogger } from './setup.ts';
import { type TokenKit, type TokenRecipe, hmacSignature, materializeToken, tokenRecipe } from './tokens.ts';

// ---------------------------------------------------------------------------------------------------
// The routes (docs/api.md)

type Auth401 = 'bearer' | 'client' | 'none' | 'metrics';

interface RouteSpec {
  path: string;
  methods: readonly string[];
  fields: readonly string[];
  auth: Auth401;
  /** Whether a 2xx body is the documented one. */
  success?: (body: unknown, status: number) => boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const keysAre = (value: unknown, ...keys: string[]) => isObject(value) && JSON.stringify(Object.keys(value)) === JSON.stringify(keys);
const stringsAt = (value: unknown, ...keys: string[]) => isObject(value) && keys.every((key) => typeof value[key] === 'string');
const SESSION_KEYS = ['id', 'created', 'last_used', 'user_agent', 'ip', 'current'];

export const ROUTES: readonly RouteSpec[] = [
  { path: '/api/token/', methods: ['POST'], fields: ['username', 'password'], auth: 'none', success: (b) => keysAre(b, 'refresh', 'access') && stringsAt(b, 'refresh', 'access') },
  {
    path: '/api/token/refresh/',
    methods: ['POST'],
    fields: ['refresh'],
    auth: 'none',
    success: (b) => (keysAre(b, 'access') || keysAre(b, 'access', 'refresh')) && stringsAt(b, 'access'),
  },
  { path: '/api/token/verify/', methods: ['POST'], fields: ['token'], auth: 'none', success: (b) => keysAre(b) },
  { path: '/api/token/blacklist/', methods: ['POST'], fields: ['refresh'], auth: 'none', success: (b) => keysAre(b) },
  { path: '/api/token/sliding/', methods: ['POST'], fields: ['username', 'password'], auth: 'none', success: (b) => keysAre(b, 'token') && stringsAt(b, 'token') },
  { path: '/api/token/sliding/refresh/', methods: ['POST'], fields: ['token'], auth: 'none', success: (b) => keysAre(b, 'token') && stringsAt(b, 'token') },
  { path: '/api/me/', methods: ['GET'], fields: [], auth: 'bearer', success: (b) => keysAre(b, 'id', 'username') && stringsAt(b, 'username') },
  { path: '/api/logout/', methods: ['POST'], fields: [], auth: 'bearer' },
  { path: '/api/logout/others/', methods: ['POST'], fields: [], auth: 'bearer' },
  { path: '/api/logout-all/', methods: ['POST'], fields: [], auth: 'bearer' },
  {
    path: '/api/sessions/',
    methods: ['GET'],
    fields: [],
    auth: 'bearer',
    success: (b) => Array.isArray(b) && b.every((session) => keysAre(session, ...SESSION_KEYS) && stringsAt(session, 'id', 'created', 'last_used')),
  },
  { path: '/api/sessions/:id/', methods: ['DELETE'], fields: [], auth: 'bearer' },
  {
    path: '/api/password/',
    methods: ['POST'],
    fields: ['old_password', 'new_password'],
    auth: 'bearer',
    success: (b) => JSON.stringify(b) === '{"detail":"Password changed."}',
  },
  {
    path: '/oauth/introspect',
    methods: ['POST'],
    fields: ['token', 'token_type_hint', 'client_id', 'client_secret'],
    auth: 'client',
    success: (b) => JSON.stringify(b) === '{"active":false}' || (isObject(b) && b.active === true && typeof b.token_type === 'string' && typeof b.jti === 'string'),
  },
  { path: '/oauth/revoke', methods: ['POST'], fields: ['token', 'token_type_hint', 'client_id', 'client_secret'], auth: 'client' },
  { path: '/api/revocations/stream/', methods: ['GET'], fields: [], auth: 'client' },
  { path: '/.well-known/jwks.json', methods: ['GET'], fields: [], auth: 'none', success: (b) => isObject(b) && Array.isArray(b.keys) },
  { path: '/healthz', methods: ['GET'], fields: [], auth: 'none', success: (b) => JSON.stringify(b) === '{"status":"ok"}' },
  { path: '/readyz', methods: ['GET'], fields: [], auth: 'none', success: (b) => JSON.stringify(b) === '{"status":"ready"}' },
  { path: '/metrics', methods: ['GET'], fields: [], auth: 'none' },
  { path: '/openapi.json', methods: ['GET'], fields: [], auth: 'none', success: (b) => isObject(b) && typeof b.openapi === 'string' },
];

/** Admin pages: HTML, not JSON; drawn now and then, only "never a 5xx" is checked there. */
const ADMIN_PATHS = ['/admin/', '/admin/login', '/admin/logout', '/admin/users', '/admin/users/1', '/admin/users/x', '/admin/revocations', '/admin/static/admin.css', '/admin/users/1/revoke-all', '/admin/users/1/deactivate', '/admin/users/1/sessions/abc/revoke'];

const ALL_FIELDS = ['username', 'password', 'refresh', 'token', 'old_password', 'new_password', 'token_type_hint', 'client_id', 'client_secret'] as const;
type FieldName = (typeof ALL_FIELDS)[number];

/** Which route a path reaches, as Fastify routes it (trailing slash optional, percent-escapes of unreserved characters decoded). */
export function routeOf(url: string): RouteSpec | 'admin' | undefined {
  let path: string;
  try {
    // light-my-request reads the URL with WHATWG URL, which removes dot segments (`/a/b/..` is `/a/`).
    path = decodeURI(new URL(url, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
  if (path.startsWith('/admin/') || path === '/admin') return 'admin';
  const bare = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  for (const route of ROUTES) {
    const pattern = new RegExp(`^${bare(route.path).replace(/[.]/g, '\\.').replace(':id', '[^/]+')}$`);
    if (pattern.test(bare(path))) return route;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Recipes

type PathRecipe =
  | { kind: 'route'; route: number; slash: 'keep' | 'toggle' | 'double'; escape: number | null; suffix: string; query: string; sessionId: SessionIdRecipe }
  | { kind: 'admin'; path: number; query: string }
  | { kind: 'random'; path: string };

type SessionIdRecipe = { pool: number } | { text: string };

type AuthRecipe =
  | { kind: 'none' }
  | { kind: 'scheme'; scheme: string; separator: string; token: TokenRecipe; trailing: string }
  | { kind: 'basic'; client: 'right' | 'wrong-secret' | 'unknown'; form: 'ok' | 'no-colon' | 'garbage' | 'escaped' | 'lowercase' }
  | { kind: 'raw'; text: string }
  | { kind: 'many'; values: string[] };

type FieldValue =
  | { omit: true }
  | { token: TokenRecipe }
  | { json: string }
  | { text: string }
  | { username: number }
  | { password: 'right' | 'wrong' }
  | { client: 'id' | 'secret' | 'other' }
  | { huge: number };

type BodyRecipe =
  | { kind: 'none' }
  | { kind: 'fields'; encoding: 'json' | 'form' | 'multipart'; values: Record<FieldName, FieldValue>; extra: [string, string][]; repeat: boolean }
  | { kind: 'json'; json: string }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'deep'; depth: number; style: 'array' | 'object' | 'field' }
  | { kind: 'huge'; bytes: number };

type ContentTypeRecipe = { kind: 'auto' } | { kind: 'none' } | { kind: 'given'; value: string };

export interface RequestRecipe {
  method: string;
  path: PathRecipe;
  auth: AuthRecipe;
  body: BodyRecipe;
  contentType: ContentTypeRecipe;
  headers: [string, string][];
  ip: string;
}

/** Header values as they arrive from Node's parser: latin1 text without controls (and, now and then, anything). */
const headerText = (maxLength: number) =>
  fc.oneof(
    { arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength }), weight: 5 },
    { arbitrary: fc.string({ unit: 'binary', maxLength }), weight: 1 },
  );

const KNOWN_PASSWORD = 'the fuzz password 123';
const USERNAMES = ['alice', 'bob'];

const SCHEMES = ['bearer', 'BEARER', 'JWT', 'Token', 'Basic', 'Digest', 'Bearer:', 'Bearer,', ''];

const authRecipe: fc.Arbitrary<AuthRecipe> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('scheme' as const),
      scheme: fc.oneof({ arbitrary: fc.constant('Bearer'), weight: 12 }, { arbitrary: fc.constantFrom(...SCHEMES), weight: 3 }, { arbitrary: headerText(10), weight: 1 }),
      separator: fc.oneof({ arbitrary: fc.constant(' '), weight: 8 }, { arbitrary: fc.constantFrom('  ', '\t', '', ' \t '), weight: 1 }),
      token: tokenRecipe,
      trailing: fc.oneof({ arbitrary: fc.constant(''), weight: 8 }, { arbitrary: fc.constantFrom(' ', ' extra', '\t', ' Bearer x'), weight: 1 }),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('basic' as const),
      client: fc.constantFrom('right' as const, 'wrong-secret' as const, 'unknown' as const),
      form: fc.constantFrom('ok' as const, 'no-colon' as const, 'garbage' as const, 'escaped' as const, 'lowercase' as const),
    }),
    weight: 2,
  },
  { arbitrary: headerText(300).map((text) => ({ kind: 'raw' as const, text })), weight: 1 },
  { arbitrary: fc.array(headerText(60), { minLength: 2, maxLength: 3 }).map((values) => ({ kind: 'many' as const, values })), weight: 1 },
);

const jsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.constantFrom('1e400', '-0', '[]', '{}', '{"toString":1}', '{"__proto__":{"a":1}}', '""', '"   "', 'null', 'true', '12345', '1.5', '[["a"]]'),
);

function fieldValue(name: FieldName): fc.Arbitrary<FieldValue> {
  const common = [
    { arbitrary: fc.constant({ omit: true as const }), weight: 20 },
    { arbitrary: jsonText.map((json) => ({ json })), weight: 40 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ text })), weight: 40 },
    { arbitrary: fc.constantFrom(10_000, 300_000, 1_000_000).map((huge) => ({ huge })), weight: 1 },
  ];
  const specific: fc.Arbitrary<FieldValue> = (() => {
    switch (name) {
      case 'username':
        return fc.nat({ max: USERNAMES.length }).map((username) => ({ username }));
      case 'password':
      case 'old_password':
        return fc.constantFrom('right' as const, 'right' as const, 'wrong' as const).map((password) => ({ password }));
      case 'new_password':
        return fc.string({ maxLength: 20 }).map((text) => ({ text }));
      case 'client_id':
        return fc.constantFrom('id' as const, 'other' as const).map((client) => ({ client }));
      case 'client_secret':
        return fc.constantFrom('secret' as const, 'other' as const).map((client) => ({ client }));
      case 'token_type_hint':
        return fc.constantFrom('access_token', 'refresh_token', 'sliding_token', 'password', '').map((text) => ({ text }));
      default:
        return tokenRecipe.map((token) => ({ token }));
    }
  })();
  return fc.oneof({ arbitrary: specific, weight: 160 }, ...common);
}

const fieldValues = fc.record(Object.fromEntries(ALL_FIELDS.map((name) => [name, fieldValue(name)])) as { [K in FieldName]: fc.Arbitrary<FieldValue> });

const bodyRecipe: fc.Arbitrary<BodyRecipe> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 10 },
  {
    arbitrary: fc.record({
      kind: fc.constant('fields' as const),
      encoding: fc.constantFrom('json' as const, 'json' as const, 'json' as const, 'form' as const, 'multipart' as const),
      values: fieldValues,
      extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'username', 'token'), fc.string({ maxLength: 8 })), fc.string({ maxLength: 20 })), { maxLength: 2 }),
      repeat: fc.boolean(),
    }),
    weight: 120,
  },
  { arbitrary: jsonText.map((json) => ({ kind: 'json' as const, json })), weight: 20 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => ({ kind: 'text' as const, text })), weight: 10 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes })), weight: 10 },
  {
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(10_000, 100_000, 400_000)),
      style: fc.constantFrom('array' as const, 'object' as const, 'field' as const),
    }),
    weight: 3,
  },
  { arbitrary: fc.constantFrom(1024 * 1024 - 64, 1024 * 1024 + 1, 2 * 1024 * 1024).map((bytes) => ({ kind: 'huge' as const, bytes })), weight: 1 },
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=xyz',
  'text/plain',
  'application/xml',
  'application/vnd.api+json',
  '*/*',
  ';',
  '',
  'application/json, text/plain',
];

const contentTypeRecipe: fc.Arbitrary<ContentTypeRecipe> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'auto' as const }), weight: 12 },
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
  { arbitrary: fc.constantFrom(...CONTENT_TYPES).map((value) => ({ kind: 'given' as const, value })), weight: 2 },
  { arbitrary: headerText(40).map((value) => ({ kind: 'given' as const, value })), weight: 1 },
);

const pathSuffix = fc.oneof(
  { arbitrary: fc.constant(''), weight: 12 },
  { arbitrary: fc.constantFrom('.', '%2F', '%00', '..', ';x', '%20', '/x', '//'), weight: 1 },
);
const queryText = fc.oneof(
  { arbitrary: fc.constant(''), weight: 8 },
  { arbitrary: fc.webQueryParameters().map((query) => `?${query}`), weight: 1 },
  { arbitrary: fc.constantFrom('?', '?a=%zz', '?token=x&token=y', '#frag'), weight: 1 },
);

const pathRecipe: fc.Arbitrary<PathRecipe> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('route' as const),
      route: fc.nat({ max: ROUTES.length - 1 }),
      slash: fc.constantFrom('keep' as const, 'keep' as const, 'keep' as const, 'keep' as const, 'keep' as const, 'toggle' as const, 'double' as const),
      escape: fc.option(fc.nat({ max: 30 }), { freq: 4 }),
      suffix: pathSuffix,
      query: queryText,
      sessionId: fc.oneof(
        fc.nat({ max: 7 }).map((pool) => ({ pool })),
        fc.oneof(fc.webSegment(), fc.constantFrom('%E0%A4%A', '%2F', '..', '%00', 'a'.repeat(300))).map((text) => ({ text })),
      ),
    }),
    weight: 20,
  },
  { arbitrary: fc.record({ kind: fc.constant('admin' as const), path: fc.nat({ max: ADMIN_PATHS.length - 1 }), query: queryText }), weight: 1 },
  {
    arbitrary: fc
      .oneof(
        fc.webPath(),
        fc.string({ unit: fc.constantFrom(...'/api/token/%2E%zz%E0%A4.-_~:@!$&()*+,;=aA0?#'), maxLength: 40 }).map((path) => `/${path}`),
        fc.constantFrom('/', '//', '/api', '/api/', '/API/token/', '/api/token/../me/', '/api/./me/', '/.well-known/', '/oauth/', '/oauth/introspect/x'),
      )
      .map((path) => ({ kind: 'random' as const, path: path.startsWith('/') ? path : `/${path}` })),
    weight: 2,
  },
);

const COMMON_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

const methodFor = fc.oneof(
  { arbitrary: fc.constant(''), weight: 12 }, // the route's own method
  { arbitrary: fc.constantFrom(...COMMON_METHODS), weight: 3 },
  // Node's parser accepts these; light-my-request does too. CONNECT is left out: it is a tunnel, not a request to a path.
  { arbitrary: fc.constantFrom(...METHODS.filter((method) => method !== 'CONNECT')), weight: 1 },
);

const extraHeaders = fc.array(
  fc.tuple(
    fc.constantFrom('user-agent', 'accept', 'last-event-id', 'content-encoding', 'x-forwarded-for', 'cookie', 'origin', 'content-length', 'expect'),
    fc.oneof(headerText(40), fc.constantFrom('gzip', '0', '-1', '99999999', '100-continue', 'a'.repeat(3000))),
  ),
  { maxLength: 2 },
);

export const requestRecipe: fc.Arbitrary<RequestRecipe> = fc.record({
  method: methodFor,
  path: pathRecipe,
  auth: authRecipe,
  body: bodyRecipe,
  contentType: contentTypeRecipe,
  headers: extraHeaders,
  ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('127.0.0.1')),
});

// ---------------------------------------------------------------------------------------------------
// The server under test

interface Pool {
  access: string[];
  refresh: string[];
  sliding: string[];
  sessionIds: string[];
}

/** What the fuzz server holds: users, a client, and valid tokens re-minted every so often. */
export interface HttpFuzzServer {
  auth: Auth;
  app: FastifyInstance;
  users: User[];
  client: { clientId: string; clientSecret: string };
  pool: Pool;
  kit: TokenKit;
  backgroundErrors: string[];
  remint(): Promise<void>;
  close(): Promise<void>;
}

const decodePayload = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));

/** `database`: `:memory:` (SQLite in memory, the default) or any URL `openStore` takes (a fresh, empty database). */
export async function startHttpFuzzServer(database = ':memory:'): Promise<HttpFuzzServer> {
  const logger = countingLogger();
  const auth = await createAuth({
    settings: {
      signingKey: FUZZ_SIGNING_KEY,
      rotateRefreshTokens: true,
      blacklistAfterRotation: true,
      authTokenTypes: ['access', 'sliding'],
      acceptUntrackedRefreshTokens: true,
      sessionMaxLifetime: '30d',
      updateLastLogin: true,
      // Usernames are few and every other input is a wrong password: the per-username lock is raised
      // (not off) so that logins with the right password still get through. Per-IP throttling keeps its defaults.
      loginFailuresPerUsername: 100_000,
    },
    database,
    passwordHashing: FAST_HASHING,
    logger,
  });
  const app = await buildServer(auth);
  await app.ready();
  const users: User[] = [];
  for (const username of [...USERNAMES, 'carol']) users.push(await auth.users.create({ username, password: KNOWN_PASSWORD }));
  const client = await auth.clients.create('fuzz');
  const pool: Pool = { access: [], refresh: [], sliding: [], sessionIds: [] };
  let mints = 0;
  const server: HttpFuzzServer = {
    auth,
    app,
    users,
    client,
    pool,
    backgroundErrors: logger.errors,
    kit: {
      algorithm: 'HS256',
      header: () => ({ alg: 'HS256', typ: 'JWT' }),
      claims(kind, user, now) {
        const sessionId = pool.sessionIds[user % Math.max(1, pool.sessionIds.length)] ?? 'e'.repeat(32);
        const userIds: (number | string)[] = [users[0]!.id, users[1]!.id, 999_999, String(users[0]!.id)];
        return {
          token_type: kind,
          exp: now + (kind === 'access' ? 300 : 86400),
          iat: now,
          jti: `${'0'.repeat(24)}${String(mints * 10 + user).padStart(8, '0')}`,
          user_id: userIds[user % userIds.length],
          sid: sessionId,
          gen: 0,
          ...(kind === 'sliding' ? { refresh_exp: now + 86400 } : {}),
        };
      },
      signature: hmacSignature(FUZZ_SIGNING_KEY, WRONG_SIGNING_KEY),
      valid(kind, user) {
        const list = pool[kind];
        return list[user % Math.max(1, list.length)] ?? '';
      },
    },
    async remint() {
      mints++;
      const fresh: Pool = { access: [], refresh: [], sliding: [], sessionIds: [] };
      for (const user of users.slice(0, 2)) {
        const pair = await auth.issueTokens(user, { userAgent: 'fuzz pool', ip: '192.0.2.1' });
        fresh.access.push(pair.access);
        fresh.refresh.push(pair.refresh);
        fresh.sessionIds.push(String(decodePayload(pair.access).sid));
      }
      // Sliding tokens come from a login; carol is never a fuzzed username, so no throttle stands in the way.
      const sliding = await auth.obtainSlidingToken('carol', KNOWN_PASSWORD, { ip: `198.51.100.${mints % 250}` });
      fresh.sliding.push(sliding);
      fresh.sessionIds.push(String(decodePayload(sliding).sid));
      Object.assign(pool, fresh);
    },
    async close() {
      await app.close();
      await auth.close();
    },
  };
  await server.remint();
  return server;
}

// ---------------------------------------------------------------------------------------------------
// Materializing a request

interface Materialized {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload: string | Buffer | undefined;
  remoteAddress: string;
}

/** Percent-escapes the character at `index` of the path when it is a letter (it routes the same). */
function escapeLetter(path: string, index: number): string {
  const letters = [...path].map((char, i) => [char, i] as const).filter(([char]) => /[a-z]/i.test(char));
  const picked = letters[index % Math.max(1, letters.length)];
  if (!picked) return path;
  const [char, i] = picked;
  return `${path.slice(0, i)}%${char.charCodeAt(0).toString(16).toUpperCase()}${path.slice(i + 1)}`;
}

function materializePath(server: HttpFuzzServer, recipe: PathRecipe): { url: string; route: RouteSpec | undefined } {
  if (recipe.kind === 'random') return { url: recipe.path, route: undefined };
  if (recipe.kind === 'admin') return { url: `${ADMIN_PATHS[recipe.path]}${recipe.query}`, route: undefined };
  const route = ROUTES[recipe.route]!;
  const sessionId =
    'pool' in recipe.sessionId ? (server.pool.sessionIds[recipe.sessionId.pool % server.pool.sessionIds.length] ?? 'x') : recipe.sessionId.text;
  let path = route.path.replace(':id', sessionId);
  if (recipe.slash === 'toggle') path = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
  if (recipe.slash === 'double') path = `${path}/`;
  if (recipe.escape !== null) path = escapeLetter(path, recipe.escape);
  return { url: `${path}${recipe.suffix}${recipe.query}`, route };
}

function materializeAuth(server: HttpFuzzServer, recipe: AuthRecipe): string | string[] | undefined {
  switch (recipe.kind) {
    case 'none':
      return undefined;
    case 'scheme':
      return `${recipe.scheme}${recipe.separator}${materializeToken(server.kit, recipe.token)}${recipe.trailing}`;
    case 'basic': {
      const id = recipe.client === 'unknown' ? 'no-such-client' : server.client.clientId;
      const secret = recipe.client === 'right' ? server.client.clientSecret : 'wrong-secret';
      const credentials =
        recipe.form === 'no-colon' ? `${id}${secret}` : recipe.form === 'escaped' ? `${formEncode(id)}%3A:${secret}%zz` : `${id}:${secret}`;
      const encoded = recipe.form === 'garbage' ? '!!!not base64!!!' : Buffer.from(credentials).toString('base64');
      return `${recipe.form === 'lowercase' ? 'basic' : 'Basic'} ${encoded}`;
    }
    case 'raw':
      return recipe.text;
    case 'many':
      return recipe.values;
  }
}

/** Percent-encodes the UTF-8 bytes of a text (a lone surrogate becomes U+FFFD, where encodeURIComponent throws). */
function formEncode(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The text of a field value (form and multipart), or its JSON text (JSON bodies). */
function fieldText(server: HttpFuzzServer, value: Exclude<FieldValue, { omit: true }>, json: boolean): string {
  const quoted = (text: string) => (json ? JSON.stringify(text) : text);
  if ('token' in value) return quoted(materializeToken(server.kit, value.token));
  if ('json' in value) return json ? value.json : value.json.replace(/^"|"$/g, '');
  if ('text' in value) return quoted(value.text);
  if ('username' in value) return quoted(USERNAMES[value.username] ?? 'nobody');
  if ('password' in value) return quoted(value.password === 'right' ? KNOWN_PASSWORD : 'not the password');
  if ('client' in value) return quoted(value.client === 'id' ? server.client.clientId : value.client === 'secret' ? server.client.clientSecret : 'other');
  return quoted('x'.repeat(value.huge));
}

function materializeBody(server: HttpFuzzServer, recipe: BodyRecipe, route: RouteSpec | undefined): { payload: string | Buffer | undefined; type: string | undefined } {
  switch (recipe.kind) {
    case 'none':
      return { payload: undefined, type: undefined };
    case 'json':
      return { payload: recipe.json, type: 'application/json' };
    case 'text':
      return { payload: recipe.text, type: 'application/json' };
    case 'bytes':
      return { payload: Buffer.from(recipe.bytes), type: 'application/x-www-form-urlencoded' };
    case 'huge':
      return { payload: `{"token":"${'a'.repeat(Math.max(0, recipe.bytes - 12))}"}`, type: 'application/json' };
    case 'deep': {
      const { depth } = recipe;
      if (recipe.style === 'array') return { payload: `${'['.repeat(depth)}${']'.repeat(depth)}`, type: 'application/json' };
      if (recipe.style === 'object') return { payload: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, type: 'application/json' };
      return { payload: `{"token":${'['.repeat(depth)}${']'.repeat(depth)},"refresh":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`, type: 'application/json' };
    }
    case 'fields': {
      const names = route?.fields.length ? route.fields : ALL_FIELDS;
      const json = recipe.encoding === 'json';
      const entries: [string, string][] = [];
      for (const name of names) {
        const value = recipe.values[name as FieldName];
        if (!value || 'omit' in value) continue;
        entries.push([name, fieldText(server, value, json)]);
        if (recipe.repeat) entries.push([name, json ? '"repeated"' : 'repeated']);
      }
      for (const [name, value] of recipe.extra) entries.push([name, json ? JSON.stringify(value) : value]);
      if (json) return { payload: `{${entries.map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',')}}`, type: 'application/json' };
      if (recipe.encoding === 'form') {
        const form = entries.map(([name, text]) => `${formEncode(name)}=${formEncode(text)}`).join('&');
        return { payload: form, type: 'application/x-www-form-urlencoded' };
      }
      const boundary = 'fuzzboundary7MA4YWxkTrZu0gW';
      const parts = entries.map(([name, text], i) => {
        const file = i % 3 === 2 ? `; filename="f${i}.txt"` : '';
        return `--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, '%22')}"${file}\r\n\r\n${text}\r\n`;
      });
      return { payload: `${parts.join('')}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
    }
  }
}

export function materializeRequest(server: HttpFuzzServer, recipe: RequestRecipe): Materialized & { route: RouteSpec | 'admin' | undefined } {
  const { url, route: drawn } = materializePath(server, recipe.path);
  const method = recipe.method || drawn?.methods[0] || 'GET';
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of recipe.headers) headers[name] = value;
  let authorization = materializeAuth(server, recipe.auth);
  const route = routeOf(url);
  // The revocation feed answers a valid client's GET with a stream that stays open: out of scope here.
  if (route !== 'admin' && route?.path === '/api/revocations/stream/' && method === 'GET' && recipe.auth.kind === 'basic' && recipe.auth.client === 'right') {
    authorization = 'Basic d3Jvbmc6d3Jvbmc=';
  }
  if (authorization !== undefined) headers.authorization = authorization;
  const body = materializeBody(server, recipe.body, route === 'admin' ? undefined : route);
  const type = recipe.contentType.kind === 'auto' ? body.type : recipe.contentType.kind === 'given' ? recipe.contentType.value : undefined;
  if (type !== undefined) headers['content-type'] = type;
  return { method, url, headers, payload: body.payload, remoteAddress: recipe.ip, route };
}

// ---------------------------------------------------------------------------------------------------
// The properties of an answer

/** `{"detail": string, ...}`, or DRF field errors (every value a non-empty array of strings). */
export function isErrorBody(body: unknown): boolean {
  if (!isObject(body)) return false;
  if (Object.hasOwn(body, 'detail')) return typeof body.detail === 'string';
  const values = Object.values(body);
  return values.length > 0 && values.every((value) => Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string'));
}

/** RFC 6749 §5.2. */
const isOAuthError = (body: unknown) => keysAre(body, 'error', 'error_description') && stringsAt(body, 'error', 'error_description');

/** What is wrong with an answer, or undefined. */
export function answerProblem(request: Materialized & { route: RouteSpec | 'admin' | undefined }, res: LightMyRequestResponse): string | undefined {
  const { statusCode: status } = res;
  if (status >= 500) return `status ${status}`;
  if (status < 200) return `status ${status}`;
  if (request.method === 'HEAD') return res.body === '' ? undefined : 'HEAD answered with a body';
  const route = request.route;
  if (route === 'admin') return undefined;
  if (status === 204 || status === 205) return res.body === '' ? undefined : `${status} with a body`;
  const options = request.method === 'OPTIONS' && status === 200;
  if (route?.path === '/oauth/revoke' && status === 200 && !options) return res.body === '' ? undefined : 'revoke 200 with a body';
  if (route?.path === '/metrics' && status === 200 && !options) {
    return String(res.headers['content-type']).startsWith('text/plain') ? undefined : 'metrics not text/plain';
  }
  if (res.headers['content-type'] !== 'application/json') return `content-type ${res.headers['content-type']}`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return 'body is not JSON';
  }
  if (status >= 400) {
    const oauth = route?.path.startsWith('/oauth/') === true;
    if (!isErrorBody(body) && !(oauth && isOAuthError(body)) && !(route?.path === '/api/revocations/stream/' && isOAuthError(body))) {
      return `${status} body is not an error body`;
    }
    if (status === 401) {
      const expected = isOAuthError(body) ? 'Basic realm="oauth"' : 'Bearer realm="api"';
      if (res.headers['www-authenticate'] !== expected) return `401 with WWW-Authenticate ${res.headers['www-authenticate']}`;
    } else if (res.headers['www-authenticate'] !== undefined) {
      return `${status} with WWW-Authenticate`;
    }
    if (status === 405 && typeof res.headers.allow !== 'string') return '405 without Allow';
    return undefined;
  }
  if (options) {
    return keysAre(body, 'name', 'description', 'renders', 'parses') ? undefined : 'OPTIONS body';
  }
  if (route?.success && !route.success(body, status)) return `${status} body not as documented`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The target

/** `work`, or `'hang'` when it has not settled within `ms`; the timer is cleared as soon as `work` settles. */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<'hang'>((resolve) => (timer = setTimeout(resolve, ms, 'hang')))]);
  } finally {
    clearTimeout(timer);
  }
}

export function httpTarget(
  options: { remintEvery?: number; timeoutMs?: number; database?: string } = {},
): Target<RequestRecipe> & { server(): HttpFuzzServer } {
  let server: HttpFuzzServer | undefined;
  let reportedBackgroundErrors = 0;
  const current = () => {
    if (!server) throw new Error('setup() first');
    return server;
  };
  return {
    name: 'http',
    arbitrary: requestRecipe,
    server: current,
    async setup() {
      server = await startHttpFuzzServer(options.database);
    },
    async teardown() {
      await server?.close();
    },
    every: { inputs: options.remintEvery ?? 200, run: () => current().remint() },
    describe(recipe) {
      const request = materializeRequest(current(), recipe);
      const payload = typeof request.payload === 'string' ? request.payload : request.payload?.toString('base64');
      return { ...request, route: undefined, payload: payload && payload.length > 2000 ? `${payload.slice(0, 2000)}… (${payload.length})` : payload };
    },
    async run(recipe): Promise<Outcome> {
      const fuzz = current();
      const request = materializeRequest(fuzz, recipe);
      const group = request.route === 'admin' ? 'admin' : (request.route?.path ?? '(no route)');
      let res: LightMyRequestResponse | 'hang';
      try {
        res = await withinTime(
          fuzz.app.inject({
            method: request.method as 'GET',
            url: request.url,
            headers: request.headers,
            remoteAddress: request.remoteAddress,
            ...(request.payload !== undefined ? { payload: request.payload } : {}),
          }),
          options.timeoutMs ?? 20_000,
        );
      } catch (error) {
        return { label: 'CRASH', group, problem: `inject threw ${(error as Error).stack ?? error}` };
      }
      if (res === 'hang') return { label: 'HANG', group, problem: 'no answer in time' };
      // A successful password change: every fuzzed user's password goes back to the known one.
      if (res.statusCode === 200 && request.route !== 'admin' && request.route?.path === '/api/password/') {
        for (const user of fuzz.users) await fuzz.auth.users.setPassword(user.id, KNOWN_PASSWORD);
      }
      const problem = answerProblem(request, res);
      const label = String(res.statusCode);
      // A failure logged by the library (a background task, an event listener) is a crash too.
      if (fuzz.backgroundErrors.length > reportedBackgroundErrors) {
        const logged = fuzz.backgroundErrors.slice(reportedBackgroundErrors).join('\n');
        reportedBackgroundErrors = fuzz.backgroundErrors.length;
        return { label: 'CRASH', group, problem: `logged by the library: ${logged}` };
      }
      if (!problem) return { label, group };
      return { label, group, problem: `${problem}: ${res.statusCode} ${res.headers['content-type']} ${res.body.slice(0, 300)}` };
    },
  };
}
