import { readFileSync } from 'node:fs';
import type { Route } from './routes.ts';

/**
 * The OpenAPI 3.1 document of the server (`GET /openapi.json`), generated from the `schema` every
 * route of the route table carries, plus the shared component schemas below. Paths served outside the
 * route table (a Fastify plugin's) are added with `extraPaths`.
 */

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect). */
export type JsonSchema = Record<string, unknown>;

/** A header a route reads or answers. */
export interface HeaderSpec {
  description: string;
  schema: JsonSchema;
}

/** One documented answer of a route. */
export interface ResponseSpec {
  description: string;
  /** The JSON body's schema; neither this nor `content` means an empty body. */
  json?: JsonSchema;
  /** A body of another media type. */
  content?: { type: string; schema: JsonSchema };
  headers?: Record<string, HeaderSpec>;
}

/** How a caller proves who it is. */
export type RouteSecurity =
  /** Nothing: anyone may call. */
  | 'none'
  /** A token of `authTokenTypes` in the `Authorization` header (an access token by default). */
  | 'bearer'
  /** A registered OAuth client: HTTP Basic, or `client_id` and `client_secret` among the body fields. */
  | 'client'
  /** A registered OAuth client, by HTTP Basic only. */
  | 'clientBasic'
  /** The metrics token (`REVOCABLE_METRICS_TOKEN`), as a bearer token. */
  | 'metrics';

/** What the OpenAPI document says of a route; every route of the route table has one. */
export interface RouteSchema {
  summary: string;
  description?: string;
  /** The document's grouping. */
  tag: 'Simple JWT' | 'Account' | 'OAuth' | 'Operations';
  security: RouteSecurity;
  /** Body fields, read alike from JSON, form-encoded and multipart bodies. */
  body?: { properties: Record<string, JsonSchema>; required: string[] };
  /** Request headers the route reads (beside `Authorization`). */
  headers?: Record<string, HeaderSpec>;
  /** Path parameters (`:name` in the route's path): their description. */
  params?: Record<string, string>;
  /** Every answer, by status. */
  responses: Record<number, ResponseSpec>;
}

/** Paths of the OpenAPI document: path, then lowercase method, then the operation object. */
export type OpenApiPaths = Record<string, Record<string, unknown>>;

const ref = (name: keyof typeof COMPONENT_SCHEMAS): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const str = (description: string): JsonSchema => ({ type: 'string', description });

/** The schemas routes share. */
const COMPONENT_SCHEMAS = {
  Error: {
    type: 'object',
    description:
      'Simple JWT\'s error body. `code` is absent where Simple JWT sends none (failed login, missing credentials, DRF\'s parse, 405 and 415 refusals); docs/errors.md lists every code.',
    properties: {
      detail: { type: 'string' },
      code: { type: 'string' },
      messages: { type: 'array', items: { $ref: '#/components/schemas/TokenTypeMessage' } },
    },
    required: ['detail'],
  },
  TokenTypeMessage: {
    type: 'object',
    description: "One accepted token type's reason for refusing the token (protected routes).",
    properties: { token_class: { type: 'string' }, token_type: { type: 'string' }, message: { type: 'string' } },
    required: ['token_class', 'token_type', 'message'],
  },
  ValidationError: {
    type: 'object',
    description:
      'DRF\'s per-field errors: each failing field (or `non_field_errors`) with its messages, e.g. `{"username":["This field is required."]}`.',
    additionalProperties: { type: 'array', items: { type: 'string' } },
  },
  OAuthError: {
    type: 'object',
    description: 'RFC 6749 §5.2 error body.',
    properties: {
      error: { type: 'string', enum: ['invalid_request', 'invalid_client'] },
      error_description: { type: 'string' },
    },
    required: ['error'],
  },
  TokenPair: {
    type: 'object',
    properties: { refresh: str('a refresh token (JWT)'), access: str('an access token (JWT)') },
    required: ['refresh', 'access'],
  },
  RefreshResult: {
    type: 'object',
    description: 'With `rotateRefreshTokens`, a new refresh token too; the one presented can no longer be used.',
    properties: { access: str('a new access token'), refresh: str('the next refresh token (rotation only)') },
    required: ['access'],
  },
  SlidingToken: { type: 'object', properties: { token: str('a sliding token (JWT)') }, required: ['token'] },
  Empty: { type: 'object', maxProperties: 0 },
  Me: {
    type: 'object',
    properties: { id: { type: ['integer', 'string'] }, username: { type: 'string' } },
    required: ['id', 'username'],
  },
  Session: {
    type: 'object',
    properties: {
      id: str('the session id: the `sid` claim of its tokens'),
      created: { type: 'string', format: 'date-time' },
      last_used: { type: 'string', format: 'date-time', description: 'the last login or refresh of the session' },
      user_agent: { type: ['string', 'null'] },
      ip: { type: ['string', 'null'] },
      current: { type: 'boolean', description: 'the session of the token that made the request' },
    },
    required: ['id', 'created', 'last_used', 'user_agent', 'ip', 'current'],
    additionalProperties: false,
  },
  Detail: { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'] },
  Introspection: {
    description: 'RFC 7662 §2.2: the claims of an active token, or exactly `{"active":false}`.',
    oneOf: [
      { type: 'object', properties: { active: { const: false } }, required: ['active'], additionalProperties: false },
      {
        type: 'object',
        properties: {
          active: { const: true },
          token_type: { type: 'string', enum: ['access_token', 'refresh_token', 'sliding_token'] },
          username: { type: 'string' },
          sub: { type: 'string' },
          exp: { type: 'integer' },
          iat: { type: 'integer' },
          jti: { type: 'string' },
          sid: { type: 'string' },
        },
        required: ['active', 'token_type', 'username', 'sub', 'exp', 'jti'],
        additionalProperties: true,
      },
    ],
  },
  JsonWebKeySet: {
    type: 'object',
    description: 'RFC 7517 key set: every public key still verifying (none with an HMAC algorithm).',
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          properties: { kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { const: 'sig' } },
          required: ['kty', 'kid', 'alg', 'use'],
        },
      },
    },
    required: ['keys'],
  },
  Health: { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] },
  Readiness: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready', 'not_ready'] },
      checks: {
        type: 'object',
        properties: {
          database: { type: 'string', enum: ['ok', 'unavailable'] },
          revocation_state: { type: 'string', enum: ['ok', 'stale'] },
        },
        required: ['database', 'revocation_state'],
      },
    },
    required: ['status'],
  },
} satisfies Record<string, JsonSchema>;

/** Schemas for the routes' `responses`. */
export const schemas = {
  error: ref('Error'),
  validationError: ref('ValidationError'),
  oauthError: ref('OAuthError'),
  tokenPair: ref('TokenPair'),
  refreshResult: ref('RefreshResult'),
  slidingToken: ref('SlidingToken'),
  empty: ref('Empty'),
  me: ref('Me'),
  sessions: { type: 'array', items: ref('Session') },
  detail: ref('Detail'),
  introspection: ref('Introspection'),
  jwks: ref('JsonWebKeySet'),
  health: ref('Health'),
  readiness: ref('Readiness'),
  openApi: { type: 'object', description: 'this document' },
} satisfies Record<string, JsonSchema>;

/** A body field: a string, as DRF's `CharField` reads it (numbers are turned into strings). */
export const field = (description: string): JsonSchema => ({ type: 'string', minLength: 1, description });

const wwwAuthenticate = (challenge: string): Record<string, HeaderSpec> => ({
  'WWW-Authenticate': { description: challenge, schema: { type: 'string' } },
});

/** Answers shared by many routes, to spread into `responses`. */
export const answers = {
  /** Routes that read body fields. */
  fields: {
    400: {
      description: 'A missing, null, blank or non-string field (per-field errors), or a body that does not parse (`{"detail"}`)',
      json: { oneOf: [ref('ValidationError'), ref('Error')] },
    },
    413: { description: 'The body is over `bodyLimit` (1 MiB)', json: ref('Error') },
    415: { description: 'A body of another media type', json: ref('Error') },
  },
  /** Simple JWT's token error on refresh, verify and blacklist. */
  tokenNotValid: {
    401: {
      description: '`token_not_valid`: invalid, expired, of the wrong type, or revoked (`Token is blacklisted`)',
      json: ref('Error'),
      headers: wwwAuthenticate('Bearer realm="api"'),
    },
  },
  /** Routes behind `bearer` authentication. */
  protected: {
    401: {
      description:
        'No credentials, a malformed `Authorization` header, a token refused (invalid, expired, revoked), or its user gone or inactive',
      json: ref('Error'),
      headers: wwwAuthenticate('Bearer realm="api"'),
    },
    503: {
      description: '`revocation_state_stale` (the instance cannot confirm its revocation state) or `database_unavailable`',
      json: ref('Error'),
    },
  },
  /** Routes that use the database. */
  databaseUnavailable: {
    503: { description: '`database_unavailable`', json: ref('Error') },
  },
  /** The login routes. */
  login: {
    401: {
      description: '`{"detail":"No active account found with the given credentials"}`: wrong password, unknown or inactive user',
      json: ref('Error'),
      headers: wwwAuthenticate('Bearer realm="api"'),
    },
    429: {
      description: '`throttled`: too many attempts (login throttling)',
      json: ref('Error'),
      headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
    },
    503: { description: '`database_unavailable`', json: ref('Error') },
  },
  /** The OAuth routes' client authentication. */
  client: {
    400: { description: '`invalid_request`: no token, a repeated parameter, or two client authentication methods', json: ref('OAuthError') },
    401: { description: '`invalid_client`: the client is unknown or its secret wrong', json: ref('OAuthError'), headers: wwwAuthenticate('Basic realm="oauth"') },
  },
} satisfies Record<string, Record<number, ResponseSpec>>;

/** What the document needs beside the routes. */
export interface OpenApiOptions {
  /** Paths served outside the route table, merged in as they are (a plugin's pages, say). */
  extraPaths?: OpenApiPaths;
  /** `authHeaderName` and the first of `authHeaderTypes`: how `bearer` routes take their token. */
  authHeader?: { name: string; type: string };
}

let packageInfo: { name: string; version: string; description: string } | undefined;
function readPackage() {
  packageInfo ??= JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
    description: string;
  };
  return packageInfo;
}

/** `/api/sessions/:id/` as OpenAPI writes it: `/api/sessions/{id}/`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

const MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/** The OpenAPI 3.1 document of `routes`, and of `extraPaths`. */
export function buildOpenApi(routes: readonly Route[], options: OpenApiOptions = {}): Record<string, unknown> {
  const pkg = readPackage();
  const header = options.authHeader ?? { name: 'Authorization', type: 'Bearer' };
  const paths: OpenApiPaths = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  for (const [path, operations] of Object.entries(options.extraPaths ?? {})) {
    paths[path] = { ...paths[path], ...operations };
  }
  const bearerAuth =
    header.name.toLowerCase() === 'authorization' && header.type === 'Bearer'
      ? { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
      : { type: 'apiKey', in: 'header', name: header.name, description: `\`${header.type} <token>\`` };
  return {
    openapi: '3.1.0',
    info: {
      title: pkg.name,
      version: pkg.version,
      description: `${pkg.description}. Every path also answers OPTIONS (DRF's metadata), and every GET path HEAD; other methods get 405.`,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Simple JWT', description: "Simple JWT's endpoints, wire-compatible" },
      { name: 'Account', description: "The caller's account and sessions" },
      { name: 'OAuth', description: 'For registered OAuth clients (resource servers)' },
      { name: 'Operations', description: 'Keys, health, readiness, metrics, this document' },
    ],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      securitySchemes: {
        bearerAuth: { ...bearerAuth, description: 'An access token (or a sliding token, per `authTokenTypes`)' },
        clientBasic: { type: 'http', scheme: 'basic', description: 'An OAuth client registered with `revocable clients add`' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'The metrics token (`REVOCABLE_METRICS_TOKEN`)' },
      },
    },
  };
}

const SECURITY: Record<RouteSecurity, Record<string, string[]>[]> = {
  none: [],
  bearer: [{ bearerAuth: [] }],
  // client_secret_post puts the credentials in the body, which no security scheme describes.
  client: [{ clientBasic: [] }, {}],
  clientBasic: [{ clientBasic: [] }],
  metrics: [{ metricsToken: [] }],
};

function operation(route: Route): Record<string, unknown> {
  const { schema } = route;
  const parameters = [
    ...Object.entries(schema.params ?? {}).map(([name, description]) => ({
      name,
      in: 'path',
      required: true,
      description,
      schema: { type: 'string' },
    })),
    ...Object.entries(schema.headers ?? {}).map(([name, header]) => ({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: header.schema,
    })),
  ];
  const body = schema.body && {
    required: schema.body.required.length > 0,
    content: Object.fromEntries(
      MEDIA_TYPES.map((type) => [
        type,
        { schema: { type: 'object', properties: schema.body!.properties, required: schema.body!.required } },
      ]),
    ),
  };
  const responses = Object.fromEntries(
    Object.entries(schema.responses).map(([status, answer]) => {
      const content = answer.content
        ? { [answer.content.type]: { schema: answer.content.schema } }
        : answer.json
          ? { 'application/json': { schema: answer.json } }
          : undefined;
      return [
        status,
        {
          description: answer.description,
          ...(answer.headers ? { headers: answer.headers } : {}),
          ...(content ? { content } : {}),
        },
      ];
    }),
  );
  return {
    operationId: operationId(route),
    summary: schema.summary,
    ...(schema.description ? { description: schema.description } : {}),
    tags: [schema.tag],
    security: SECURITY[schema.security],
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

/** `Token Obtain Pair` → `tokenObtainPair`. */
function operationId(route: Route): string {
  const words = route.name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((word, index) => (index === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1).toLowerCase())).join('');
}
