import type { Auth } from '../auth.ts';
import { RequestError, SessionNotFoundError } from '../errors.ts';
import { type Principal, createAuthenticator } from './authenticate.ts';
import { parseBody } from './body.ts';
import { readCharFields } from './fields.ts';
import { authenticateClient, noStore, oauthTokenRequest } from './oauth.ts';
import { feedCursor, openRevocationFeed } from './revocation-feed.ts';
import { type HttpReply, errorReply } from './reply.ts';

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
  handle(context: RouteContext): Promise<HttpReply>;
}

const ok = (body: unknown, status = 200): HttpReply => ({ status, body });
const resetContent: HttpReply = { status: 205 };
const noContent: HttpReply = { status: 204 };

/** The routes of the standalone server, framework-neutral. */
export function createRoutes(auth: Auth): Route[] {
  const context = (request: HttpRequest) => ({
    userAgent: headerValue(request.headers['user-agent']),
    ip: request.ip,
  });
  const { settings } = auth;
  const callerId = (principal: Principal) => principal.claims[settings.userIdClaim] as string | number;
  const callerSession = (principal: Principal) => principal.claims[settings.sessionIdClaim];
  return [
    {
      path: '/api/token/',
      method: 'POST',
      name: 'Token Obtain Pair',
      authenticated: false,
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
      async handle({ principal }) {
        return ok({ id: principal!.user.id, username: principal!.user.username });
      },
    },
    {
      path: '/api/logout/',
      method: 'POST',
      name: 'Logout',
      authenticated: true,
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
      async handle() {
        return { status: 200, body: auth.keys.jwks(), headers: { 'cache-control': 'public, max-age=300' } };
      },
    },
    {
      path: '/healthz',
      method: 'GET',
      name: 'Health',
      authenticated: false,
      async handle() {
        return ok({ status: 'ok' });
      },
    },
  ];
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
  return async function handlePath(request: HttpRequest): Promise<HttpReply> {
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
      const body = () => parseBody(headerValue(request.headers['content-type']), request.rawBody);
      return await route.handle({ request, principal, body });
    } catch (error) {
      return errorReply(error, headerType);
    }
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
