import type { Auth } from '../auth.ts';
import { RequestError } from '../errors.ts';
import { type Principal, createAuthenticator } from './authenticate.ts';
import { parseBody } from './body.ts';
import { readCharFields } from './fields.ts';
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

/** The routes of the standalone server, framework-neutral. */
export function createRoutes(auth: Auth): Route[] {
  const context = (request: HttpRequest) => ({
    userAgent: headerValue(request.headers['user-agent']),
    ip: request.ip,
  });
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
      path: '/api/logout-all/',
      method: 'POST',
      name: 'Logout All',
      authenticated: true,
      async handle({ principal }) {
        await auth.revokeAllForUser(principal!.claims[auth.settings.userIdClaim] as string | number, {
          reason: 'logout_all',
        });
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
