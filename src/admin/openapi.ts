/**
 * The admin's paths for the OpenAPI document (`openApiPaths` of buildServer, merged in as they are).
 * HTML pages and form posts for a browser, not an API: listed so that the document names every route
 * the server answers. The session is the `revocable_admin` cookie (HttpOnly, SameSite=Strict,
 * Path=/admin); every POST needs the form's `csrf` field. docs/admin.md describes them.
 */

const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const redirect = (description: string) => ({
  description,
  headers: { Location: { schema: { type: 'string' }, description: 'Where the browser goes next.' } },
});
const TO_LOGIN = redirect('No live staff session: to `/admin/login`.');
const REFUSED = html('Refused: missing or wrong CSRF token, another origin, or the admin session has ended.');
const form = (properties: Record<string, { type: 'string'; description: string }>, required: string[]) => ({
  required: true,
  content: {
    'application/x-www-form-urlencoded': {
      schema: {
        type: 'object',
        properties: { csrf: { type: 'string', description: "The form's CSRF token (bound to the admin session)." }, ...properties },
        required: ['csrf', ...required],
      },
    },
  },
});
const id = { name: 'id', in: 'path', required: true, description: 'The user id.', schema: { type: 'integer', minimum: 0 } };
const sessionId = { name: 'sessionId', in: 'path', required: true, description: 'The session id.', schema: { type: 'string' } };

const page = (summary: string, extra: Record<string, unknown> = {}) => ({
  get: {
    tags: ['admin'],
    summary,
    ...extra,
    responses: { '200': html('The page.'), '303': TO_LOGIN, '404': html('No such page or user.') },
  },
});
const action = (summary: string, parameters: unknown[], body = form({}, [])) => ({
  post: {
    tags: ['admin'],
    summary,
    parameters,
    requestBody: body,
    responses: {
      '303': redirect('Done: back to the user page with a notice.'),
      '400': html('Not a form-encoded body.'),
      '403': REFUSED,
      '404': html('No such user, or the session is not theirs.'),
    },
  },
});

export const ADMIN_OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  '/admin/': page('Admin: overview (logins and revocations per hour over 24 h, latest revocations)'),
  '/admin/login': {
    get: {
      tags: ['admin'],
      summary: 'Admin: the staff login form',
      responses: { '200': html('The login form (sets the login CSRF cookie).'), '303': redirect('Already signed in: to `/admin/`.') },
    },
    post: {
      tags: ['admin'],
      summary: 'Admin: staff login (throttled and audited like POST /api/token/)',
      requestBody: form(
        { username: { type: 'string', description: 'A staff user.' }, password: { type: 'string', description: 'Their password.' } },
        ['username', 'password'],
      ),
      responses: {
        '303': redirect('Signed in: sets the `revocable_admin` cookie, to `/admin/`.'),
        '400': html('A field is blank, or not a form-encoded body.'),
        '403': html('Refused: wrong credentials, inactive or not staff (one message), or a bad CSRF token.'),
        '429': html('Too many login attempts (`Retry-After`).'),
      },
    },
  },
  '/admin/logout': {
    post: {
      tags: ['admin'],
      summary: 'Admin: log out (blacklists the admin session)',
      requestBody: form({}, []),
      responses: { '303': redirect('To `/admin/login`.'), '400': html('Not a form-encoded body.'), '403': REFUSED },
    },
  },
  '/admin/users': page('Admin: users, searched by username substring', {
    parameters: [
      { name: 'q', in: 'query', required: false, description: 'Part of the username (case-insensitive).', schema: { type: 'string' } },
      { name: 'page', in: 'query', required: false, description: 'Page number, from 1 (25 users a page).', schema: { type: 'integer', minimum: 1 } },
    ],
  }),
  '/admin/users/{id}': page('Admin: one user (sessions, revoke buttons, recent activity)', {
    parameters: [id, { name: 'done', in: 'query', required: false, description: 'Which notice to show.', schema: { type: 'string' } }],
  }),
  '/admin/revocations': page('Admin: recent revocations (who, what, why, when)', {
    parameters: [{ name: 'before', in: 'query', required: false, description: 'Older than this audit line id.', schema: { type: 'integer' } }],
  }),
  '/admin/users/{id}/sessions/{sessionId}/revoke': action('Admin: revoke one session of the user', [id, sessionId]),
  '/admin/users/{id}/revoke-all': action(
    'Admin: revoke every token of the user',
    [id],
    form({ reason: { type: 'string', description: 'Recorded in the audit trail as `admin: <reason>`.' } }, []),
  ),
  '/admin/users/{id}/deactivate': action('Admin: deactivate the user (revokes every token)', [id]),
  '/admin/users/{id}/activate': action('Admin: activate the user', [id]),
  '/admin/static/admin.css': {
    get: { tags: ['admin'], summary: "Admin: the pages' stylesheet", responses: { '200': { description: 'CSS.', content: { 'text/css': { schema: { type: 'string' } } } } } },
  },
};
