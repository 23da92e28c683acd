import type { Auth } from '../../auth.ts';
import { authenticateClient, noStore, oauthTokenRequest } from '../oauth.ts';
import { feedCursor, openRevocationFeed } from '../revocation-feed.ts';
import { answers, field, schemas } from '../openapi.ts';
import type { Route } from '../routes.ts';
import { headerValue, ok } from './shared.ts';

/** The form both RFC 7662 and RFC 7009 take. */
const OAUTH_TOKEN_BODY = {
  properties: {
    token: field('the token (any type)'),
    token_type_hint: field('`access_token`, `refresh_token` or `sliding_token`; optional, and only a hint'),
    client_id: field('client_secret_post: the client id (instead of HTTP Basic)'),
    client_secret: field('client_secret_post: the client secret'),
  },
  required: ['token'],
};

/** For other servers: RFC 7662 introspection, RFC 7009 revocation, the revocation feed and the JWKS. */
export function oauthRoutes(auth: Auth): Route[] {
  const { settings } = auth;
  return [
    {
      path: '/oauth/introspect',
      method: 'POST',
      name: 'Token Introspection',
      authenticated: false,
      schema: {
        summary: 'RFC 7662 token introspection',
        tag: 'OAuth',
        security: 'client',
        body: OAUTH_TOKEN_BODY,
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
        body: OAUTH_TOKEN_BODY,
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
  ];
}
