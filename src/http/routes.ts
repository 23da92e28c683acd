import type { Auth } from '../auth.ts';
import { RequestError, SessionNotFoundError } from '../errors.ts';
import { type Principal, createAuthenticator } from './authenticate.ts';
import { parseBody } from './body.ts';
import { readCharFields } from './fields.ts';
import { authenticateClient, noStore, oauthTokenRequest } from './oauth.ts';
import { feedCursor, openRevocationFeed } from './revocation-feed.ts';
import { type HttpReply, errorReply } from './reply.ts';
import { type OpenApiPaths, type ResponseSpec, type RouteSchema, answers, buildOpenApi, field, schemas } from './openapi.ts';
import { refusalReason, refusedReplyReason } from './refusals.ts';
import { metricsTokenMatches } from './metrics-token.ts';
import { identifyActor, runAs } from '../audit/actor.ts';

/** A request as every adapter hands it over. */
export interface HttpRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body; parsed by the route according to its content type. */
  rawBody: Buffer | undefined;
  params: Record<string, string>;
  ip: string | undefined;
}

/** What a handler receives: the parsed body is read lazily, after authentication, as DRF does. */
export interface RouteContext {
  request: HttpRequest;
  /** Set on routes that require authentication. */
  principal: Principal | undefined;
  body(): Promise<unknown>;
}

export interface Route {
  /** Path with a trailing slash, as Simple JWT's URLs have; `:name` marks a parameter. */
  path: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** DRF's view name, for OPTIONS. */
  name: string;
  authenticated: boolean;
  /** What the OpenAPI document (`GET /openapi.json`) says of the route: every route has one. */
  schema: RouteSchema;
  handle(context: RouteContext): Promise<HttpReply>;
}

/** Options of {@link createRoutes}. */
export interface RouteOptions {
  /**
   * Serve `GET /metrics` (default true). With `token`, only to `Authorization: Bearer <token>`. The
   * metrics tell how many logins, refusals and revocations happen: do not expose them publicly.
   */
  metrics?: boolean | { token?: string | undefined };
  /** Paths served beside the route table (a plugin's), listed in the OpenAPI document as they are. */
  openApiPaths?: OpenApiPaths;
}

/** How long `GET /readyz` waits for the database. */
export const READY_PING_TIMEOUT_MS = 1000;

const ok = (body: unknown, status = 200): HttpReply => ({ status, body });
const resetContent: HttpReply = { status: 205 };
const noContent: HttpReply = { status: 204 };

/** The routes of the standalone server, framework-neutral. */
export function createRoutes(auth: Auth, options: RouteOptions = {}): Route[] {
  const context = (request: HttpRequest) => ({
    userAgent: headerValue(request.headers['user-agent']),
    ip: request.ip,
  });
  const { settings } = auth;
  const callerId = (principal: Principal) => principal.claims[settings.userIdClaim] as string | number;
  const callerSession = (principal: Principal) => principal.claims[settings.sessionIdClaim];
  const routes: Route[] = [
    {
      path: '/api/token/',
      method: 'POST',
      name: 'Token Obtain Pair',
      authenticated: false,
      schema: {
        summary: 'Log in: a refresh and access token pair',
        description: 'Starts a new session (user agent and IP recorded per `recordUserAgent` / `recordIp`).',
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { username: field('the username'), password: field('the password') }, required: ['username', 'password'] },
        responses: { 200: { description: 'The new pair', json: schemas.tokenPair }, ...answers.fields, ...answers.login },
      },
      async handle({ body, request }) {
        const { username, password } = readCharFields(await body(), ['username', 'password']);
        return ok(await auth.obtainTokens(username, password, context(request)));
      },
    },
    {
      path: '/api/token/refresh/',
      method: 'POST',
      name: 'Token Refresh',
      authenticated: false,
      schema: {
        summary: 'A new access token (and, with rotation, a new refresh token)',
        description:
          'With `rotateRefreshTokens`, the refresh token is single-use: presenting it again is reuse, which revokes its whole session.',
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { refresh: field('a refresh token') }, required: ['refresh'] },
        responses: {
          200: { description: '`{"access"}`, or `{"access","refresh"}` with rotation', json: schemas.refreshResult },
          ...answers.fields,
          401: {
            ...answers.tokenNotValid[401],
            description: `${answers.tokenNotValid[401].description}; or \`no_active_account\`: the token's user is inactive or gone`,
          },
          ...answers.databaseUnavailable,
        },
      },
      async handle({ body, request }) {
        const { refresh } = readCharFields(await body(), ['refresh']);
        return ok(await auth.refresh(refresh, context(request)));
      },
    },
    {
      path: '/api/token/sliding/',
      method: 'POST',
      name: 'Token Obtain Sliding',
      authenticated: false,
      schema: {
        summary: 'Log in with a sliding token',
        description: "Simple JWT's `TokenObtainSlidingView`. Starts a new session, like `POST /api/token/`.",
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { username: field('the username'), password: field('the password') }, required: ['username', 'password'] },
        responses: { 200: { description: 'A sliding token', json: schemas.slidingToken }, ...answers.fields, ...answers.login },
      },
      async handle({ body, request }) {
        const { username, password } = readCharFields(await body(), ['username', 'password']);
        return ok({ token: await auth.obtainSlidingToken(username, password, context(request)) });
      },
    },
    {
      path: '/api/token/sliding/refresh/',
      method: 'POST',
      name: 'Token Refresh Sliding',
      authenticated: false,
      schema: {
        summary: 'The sliding token with a new `exp`, until its `refresh_exp`',
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { token: field('a sliding token') }, required: ['token'] },
        responses: {
          200: { description: 'The same token (same `jti`, session and `refresh_exp`) with a new `exp` and `iat`', json: schemas.slidingToken },
          ...answers.fields,
          ...answers.tokenNotValid,
          ...answers.databaseUnavailable,
        },
      },
      async handle({ body, request }) {
        const { token } = readCharFields(await body(), ['token']);
        return ok({ token: await auth.refreshSliding(token, context(request)) });
      },
    },
    {
      path: '/api/token/verify/',
      method: 'POST',
      name: 'Token Verify',
      authenticated: false,
      schema: {
        summary: 'Whether a token (of any type) is valid and not revoked',
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { token: field('an access, refresh or sliding token') }, required: ['token'] },
        responses: {
          200: { description: 'The token is valid and not revoked', json: schemas.empty },
          ...answers.fields,
          ...answers.tokenNotValid,
          503: { description: '`revocation_state_stale`: the instance cannot confirm its revocation state', json: schemas.error },
        },
      },
      async handle({ body }) {
        const { token } = readCharFields(await body(), ['token']);
        auth.verifyToken(token);
        return ok({});
      },
    },
    {
      path: '/api/token/blacklist/',
      method: 'POST',
      name: 'Token Blacklist',
      authenticated: false,
      schema: {
        summary: 'Blacklist a refresh token and end its session',
        description: 'The access tokens minted in the session are refused from the next request.',
        tag: 'Simple JWT',
        security: 'none',
        body: { properties: { refresh: field('a refresh token') }, required: ['refresh'] },
        responses: {
          200: { description: 'Blacklisted (durably, before this answer)', json: schemas.empty },
          ...answers.fields,
          ...answers.tokenNotValid,
          ...answers.databaseUnavailable,
        },
      },
      async handle({ body }) {
        const { refresh } = readCharFields(await body(), ['refresh']);
        await auth.blacklist(refresh);
        return ok({});
      },
    },
    {
      path: '/api/me/',
      method: 'GET',
      name: 'Me',
      authenticated: true,
      schema: {
        summary: 'The caller',
        tag: 'Account',
        security: 'bearer',
        responses: { 200: { description: 'The id and username of the caller', json: schemas.me }, ...answers.protected },
      },
      async handle({ principal }) {
        return ok({ id: principal!.user.id, username: principal!.user.username });
      },
    },
    {
      path: '/api/logout/',
      method: 'POST',
      name: 'Logout',
      authenticated: true,
      schema: {
        summary: "End the caller's session",
        description: 'Revokes the session of the token: its refresh tokens and every access token minted in it.',
        tag: 'Account',
        security: 'bearer',
        responses: { 205: { description: 'Logged out (empty body)' }, ...answers.protected },
      },
      async handle({ principal }) {
        await auth.logout(principal!.claims);
        return resetContent;
      },
    },
    {
      path: '/api/logout/others/',
      method: 'POST',
      name: 'Logout Others',
      authenticated: true,
      schema: {
        summary: "End every other session of the caller, keep the caller's",
        tag: 'Account',
        security: 'bearer',
        responses: { 205: { description: 'The other sessions are revoked (empty body)' }, ...answers.protected },
      },
      async handle({ principal }) {
        const current = callerSession(principal!);
        if (typeof current === 'string') await auth.revokeOtherSessions(callerId(principal!), current);
        else await auth.revokeAllForUser(callerId(principal!), { reason: 'logout_others' });
        return resetContent;
      },
    },
    {
      path: '/api/sessions/',
      method: 'GET',
      name: 'Session List',
      authenticated: true,
      schema: {
        summary: "The caller's live sessions, most recently used first",
        tag: 'Account',
        security: 'bearer',
        responses: { 200: { description: 'The live sessions', json: schemas.sessions }, ...answers.protected },
      },
      async handle({ principal }) {
        const current = callerSession(principal!);
        const sessions = await auth.listSessions(callerId(principal!));
        return ok(
          sessions.map((session) => ({
            id: session.id,
            created: session.createdAt.toISOString(),
            last_used: session.lastUsedAt.toISOString(),
            user_agent: session.userAgent,
            ip: session.ip,
            current: session.id === current,
          })),
        );
      },
    },
    {
      path: '/api/sessions/:id/',
      method: 'DELETE',
      name: 'Session Instance',
      authenticated: true,
      schema: {
        summary: "End one of the caller's sessions",
        tag: 'Account',
        security: 'bearer',
        params: { id: 'the session id, as `GET /api/sessions/` lists it' },
        responses: {
          204: { description: 'The session is revoked (empty body)' },
          404: { description: "`not_found`: unknown, already revoked, or another user's session (the same answer)", json: schemas.error },
          ...answers.protected,
        },
      },
      async handle({ principal, request }) {
        const id = request.params.id ?? '';
        // Only a session the listing shows can be deleted; another user's answers like one that does not exist.
        const live = await auth.listSessions(callerId(principal!));
        if (!live.some((session) => session.id === id)) throw new SessionNotFoundError();
        if (!(await auth.revokeSession(id, { reason: 'deleted_by_user' }))) throw new SessionNotFoundError();
        return noContent;
      },
    },
    {
      path: '/api/logout-all/',
      method: 'POST',
      name: 'Logout All',
      authenticated: true,
      schema: {
        summary: 'Revoke every token of the caller',
        description: 'One durable write: every session, refresh and access token of the user, the caller\'s included.',
        tag: 'Account',
        security: 'bearer',
        responses: { 205: { description: 'Every token of the caller is revoked (empty body)' }, ...answers.protected },
      },
      async handle({ principal }) {
        await auth.revokeAllForUser(callerId(principal!), { reason: 'logout_all' });
        return resetContent;
      },
    },
    {
      path: '/api/password/',
      method: 'POST',
      name: 'Password Change',
      authenticated: true,
      schema: {
        summary: 'Change the password and revoke every token of the user',
        tag: 'Account',
        security: 'bearer',
        body: {
          properties: { old_password: field('the current password'), new_password: field('the new password') },
          required: ['old_password', 'new_password'],
        },
        responses: {
          200: { description: '`{"detail":"Password changed."}`; the client logs in again', json: schemas.detail },
          ...answers.fields,
          400: { ...answers.fields[400], description: `${answers.fields[400].description}; \`{"old_password":["Wrong password."]}\`` },
          ...answers.protected,
        },
      },
      async handle({ principal, body }) {
        const fields = readCharFields(await body(), ['old_password', 'new_password']);
        await auth.changePassword(principal!.user.id, fields.old_password, fields.new_password);
        return ok({ detail: 'Password changed.' });
      },
    },
    {
      path: '/oauth/introspect',
      method: 'POST',
      name: 'Token Introspection',
      authenticated: false,
      schema: {
        summary: 'RFC 7662 token introspection',
        tag: 'OAuth',
        security: 'client',
        body: {
          properties: {
            token: field('the token (any type)'),
            token_type_hint: field('`access_token`, `refresh_token` or `sliding_token`; optional, and only a hint'),
            client_id: field('client_secret_post: the client id (instead of HTTP Basic)'),
            client_secret: field('client_secret_post: the client secret'),
          },
          required: ['token'],
        },
        responses: {
          200: {
            description: 'The claims of an active token, or exactly `{"active":false}`',
            json: schemas.introspection,
            headers: { 'Cache-Control': { description: '`no-store`', schema: { type: 'string' } } },
          },
          ...answers.fields,
          ...answers.client,
          400: { description: '`invalid_request` (`{"error","error_description"}`), or a body that does not parse (`{"detail"}`)', json: { oneOf: [schemas.oauthError, schemas.error] } },
          503: { description: '`revocation_state_stale` or `database_unavailable`', json: schemas.error },
        },
      },
      async handle({ body, request }) {
        const presented = await oauthTokenRequest(auth, request, await body());
        return 'status' in presented ? presented : noStore(ok(await auth.introspect(presented.token)));
      },
    },
    {
      path: '/oauth/revoke',
      method: 'POST',
      name: 'Token Revocation',
      authenticated: false,
      schema: {
        summary: 'RFC 7009 token revocation',
        description: 'A refresh or sliding token is blacklisted and its session revoked; an access token ends its session.',
        tag: 'OAuth',
        security: 'client',
        body: {
          properties: {
            token: field('the token (any type)'),
            token_type_hint: field('`access_token`, `refresh_token` or `sliding_token`; optional, and only a hint'),
            client_id: field('client_secret_post: the client id (instead of HTTP Basic)'),
            client_secret: field('client_secret_post: the client secret'),
          },
          required: ['token'],
        },
        responses: {
          200: { description: 'Revoked, or the token was invalid, unknown or already revoked (empty body)' },
          ...answers.fields,
          ...answers.client,
          400: { description: '`invalid_request` (`{"error","error_description"}`), or a body that does not parse (`{"detail"}`)', json: { oneOf: [schemas.oauthError, schemas.error] } },
          ...answers.databaseUnavailable,
        },
      },
      async handle({ body, request }) {
        const presented = await oauthTokenRequest(auth, request, await body());
        if ('status' in presented) return presented;
        await auth.revokeToken(presented.token);
        return { status: 200 };
      },
    },
    {
      path: '/api/revocations/stream/',
      method: 'GET',
      name: 'Revocation Stream',
      authenticated: false,
      schema: {
        summary: 'The revocation feed for resource servers (Server-Sent Events)',
        description:
          'Events `revocations` (a JSON array of log entries, `id` the highest sequence number sent), `ready`, and `heartbeat` (`{"stale"}`); see docs/resource-servers.md.',
        tag: 'OAuth',
        security: 'clientBasic',
        headers: { 'Last-Event-ID': { description: 'resume after this sequence number', schema: { type: 'string', pattern: '^[0-9]+$' } } },
        responses: {
          200: { description: 'An open event stream', content: { type: 'text/event-stream', schema: { type: 'string' } } },
          401: answers.client[401],
          ...answers.databaseUnavailable,
        },
      },
      async handle({ request }) {
        const refused = await authenticateClient(auth, request.headers, undefined);
        if (refused) return refused;
        const headers = {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        };
        if (request.method === 'HEAD') return { status: 200, headers };
        const cursor = feedCursor(headerValue(request.headers['last-event-id']));
        const heartbeatMs = Math.max(200, (settings.maxRevocationStaleness * 1000) / 5);
        return { status: 200, headers, stream: await openRevocationFeed(auth, cursor, heartbeatMs) };
      },
    },
    {
      path: '/.well-known/jwks.json',
      method: 'GET',
      name: 'JSON Web Key Set',
      authenticated: false,
      schema: {
        summary: 'The public keys tokens are verified with (JWKS)',
        tag: 'Operations',
        security: 'none',
        responses: {
          200: {
            description: 'The key set; empty with an HMAC algorithm',
            json: schemas.jwks,
            headers: { 'Cache-Control': { description: '`public, max-age=300`', schema: { type: 'string' } } },
          },
        },
      },
      async handle() {
        return { status: 200, body: auth.keys.jwks(), headers: { 'cache-control': 'public, max-age=300' } };
      },
    },
    {
      path: '/healthz',
      method: 'GET',
      name: 'Health',
      authenticated: false,
      schema: {
        summary: 'Liveness: the process answers',
        description: 'Checks neither the database nor the revocation state (`GET /readyz` does).',
        tag: 'Operations',
        security: 'none',
        responses: { 200: { description: '`{"status":"ok"}`', json: schemas.health } },
      },
      async handle() {
        return ok({ status: 'ok' });
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      name: 'Readiness',
      authenticated: false,
      schema: {
        summary: 'Readiness: the database answers and the revocation state is fresh',
        tag: 'Operations',
        security: 'none',
        responses: {
          200: { description: '`{"status":"ready"}`', json: schemas.readiness },
          503: { description: '`{"status":"not_ready","checks":{"database","revocation_state"}}`', json: schemas.readiness },
        },
      },
      async handle() {
        const database = await auth.store.ping(READY_PING_TIMEOUT_MS).then(
          () => 'ok',
          () => 'unavailable',
        );
        const checks = { database, revocation_state: auth.isRevocationStateStale() ? 'stale' : 'ok' };
        const ready = checks.database === 'ok' && checks.revocation_state === 'ok';
        return {
          status: ready ? 200 : 503,
          body: ready ? { status: 'ready' } : { status: 'not_ready', checks },
          headers: { 'cache-control': 'no-store' },
        };
      },
    },
  ];
  const metrics = options.metrics ?? true;
  if (metrics !== false) {
    const token = typeof metrics === 'object' ? metrics.token : undefined;
    const metricsRefusal: Record<number, ResponseSpec> = {
      401: { ...answers.protected[401], description: 'Without the metrics token' },
    };
    routes.push({
      path: '/metrics',
      method: 'GET',
      name: 'Metrics',
      authenticated: false,
      schema: {
        summary: 'Prometheus metrics',
        description: 'docs/api.md#metrics lists them. Not for the public internet.',
        tag: 'Operations',
        security: token ? 'metrics' : 'none',
        responses: {
          200: { description: 'The Prometheus text format', content: { type: 'text/plain; version=0.0.4', schema: { type: 'string' } } },
          ...(token ? metricsRefusal : {}),
        },
      },
      async handle({ request }) {
        if (token && !metricsTokenMatches(request.headers.authorization, token)) {
          throw new RequestError(401, 'not_authenticated', 'Authentication credentials were not provided.');
        }
        const scraped = await auth.metrics.scrape();
        return { status: 200, text: scraped.text, headers: { 'content-type': scraped.contentType, 'cache-control': 'no-store' } };
      },
    });
  }
  routes.push({
    path: '/openapi.json',
    method: 'GET',
    name: 'OpenAPI',
    authenticated: false,
    schema: {
      summary: 'This OpenAPI 3.1 document',
      tag: 'Operations',
      security: 'none',
      responses: { 200: { description: 'The document', json: schemas.openApi } },
    },
    async handle() {
      const authHeader = { name: settings.authHeaderName, type: headerTypeOf(settings) };
      return ok(buildOpenApi(routes, { authHeader, ...(options.openApiPaths ? { extraPaths: options.openApiPaths } : {}) }));
    },
  });
  return routes;
}

/** Every method a path answers (the others are 405). */
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * Dispatches one request to the routes registered on one path: 405 for another method, DRF's
 * metadata for OPTIONS, authentication before the body is read, and every error turned into the
 * contract's JSON.
 */
export function createPathHandler(auth: Auth, routes: Route[]) {
  const authenticate = createAuthenticator(auth);
  const headerType = auth.settings.authHeaderTypes[0];
  const methods: string[] = routes.map((route) => route.method);
  // As in Django, a path that answers GET answers HEAD too.
  if (methods.includes('GET')) methods.push('HEAD');
  const allowed = [...methods, 'OPTIONS'].join(', ');
  /** `revocable_auth_failures_total`: every refusal of credentials, by reason. */
  const countRefusal = (reason: ReturnType<typeof refusalReason>) => {
    if (reason) auth.metrics.authFailure(reason);
  };
  // Every request runs as its own actor for the audit trail: anonymous until authenticated.
  return (request: HttpRequest): Promise<HttpReply> => runAs({ actor: 'anonymous', ip: request.ip }, () => handle(request));
  async function handle(request: HttpRequest): Promise<HttpReply> {
    try {
      if (request.method === 'OPTIONS') {
        return {
          status: 200,
          body: {
            name: routes[0]!.name,
            description: '',
            renders: ['application/json'],
            parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
          },
          headers: { allow: allowed },
        };
      }
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      const route = routes.find((candidate) => candidate.method === method);
      if (!route) {
        throw new RequestError(405, 'method_not_allowed', `Method "${request.method}" not allowed.`, {
          headers: { allow: allowed },
        });
      }
      const principal = route.authenticated ? await authenticate(request.headers) : undefined;
      if (principal) identifyActor(`user:${principal.user.id}`);
      const body = () => parseBody(headerValue(request.headers['content-type']), request.rawBody);
      const reply = await route.handle({ request, principal, body });
      countRefusal(refusedReplyReason(reply));
      return reply;
    } catch (error) {
      countRefusal(refusalReason(error));
      return errorReply(error, headerType);
    }
  }
}

/** The scheme a `bearer` route's token comes with: the first of `authHeaderTypes`. */
function headerTypeOf(settings: Auth['settings']): string {
  return settings.authHeaderTypes[0] ?? 'Bearer';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
