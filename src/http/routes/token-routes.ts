import type { Auth } from '../../auth.ts';
import { readCharFields } from '../fields.ts';
import { answers, field, schemas } from '../openapi.ts';
import type { Route } from '../routes.ts';
import { type RouteHelpers, ok } from './shared.ts';

/** Simple JWT's token endpoints: obtain, refresh, verify, blacklist, and their sliding twins. */
export function tokenRoutes(auth: Auth, helpers: RouteHelpers): Route[] {
  const { context } = helpers;
  return [
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
  ];
}
