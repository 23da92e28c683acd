import type { Auth } from '../../auth.ts';
import { SessionNotFoundError } from '../../errors.ts';
import { readCharFields } from '../fields.ts';
import { answers, field, schemas } from '../openapi.ts';
import type { Route } from '../routes.ts';
import { type RouteHelpers, noContent, ok, resetContent } from './shared.ts';

/** The caller's own account: who they are, their sessions, logging out, changing the password. */
export function accountRoutes(auth: Auth, helpers: RouteHelpers): Route[] {
  const { callerId, callerSession } = helpers;
  return [
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
  ];
}
