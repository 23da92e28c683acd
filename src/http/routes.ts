import type { Auth } from '../auth.ts';
import { RequestError } from '../errors.ts';
import { type Principal, createAuthenticator } from './authenticate.ts';
import { parseBody } from './body.ts';
import { type HttpReply, errorReply } from './reply.ts';
import { type OpenApiPaths, type RouteSchema, buildOpenApi, schemas } from './openapi.ts';
import { refusalReason, refusedReplyReason } from './refusals.ts';
import { identifyActor, runAs } from '../audit/actor.ts';
import { accountRoutes } from './routes/account-routes.ts';
import { oauthRoutes } from './routes/oauth-routes.ts';
import { operationRoutes } from './routes/operation-routes.ts';
import { type RouteHelpers, headerValue, ok } from './routes/shared.ts';
import { tokenRoutes } from './routes/token-routes.ts';

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



/** The routes of the standalone server, framework-neutral. */
export function createRoutes(auth: Auth, options: RouteOptions = {}): Route[] {
  const context = (request: HttpRequest) => ({
    userAgent: headerValue(request.headers['user-agent']),
    ip: request.ip,
  });
  const { settings } = auth;
  const callerId = (principal: Principal) => principal.claims[settings.userIdClaim] as string | number;
  const callerSession = (principal: Principal) => principal.claims[settings.sessionIdClaim];
  const shared: RouteHelpers = { context, callerId, callerSession };
  const routes: Route[] = [
    ...tokenRoutes(auth, shared),
    ...accountRoutes(auth, shared),
    ...oauthRoutes(auth),
    ...operationRoutes(auth, options),
  ];
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

