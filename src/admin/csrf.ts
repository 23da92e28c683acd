import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * CSRF protection of the admin's forms.
 *
 * Synchronizer tokens: every form carries `csrf`, an HMAC-SHA256 of what it is bound to (the admin
 * session's id, or before login the random value of the login cookie) under a key derived from the
 * signing key. Nothing is stored, every instance computes the same token, a token is useless for
 * another session, and it never reveals the session id. Every POST is also refused when the browser
 * says it came from elsewhere (`Sec-Fetch-Site`, `Origin`). The cookies are SameSite=Strict besides.
 */
export interface Csrf {
  /** The token of the forms of the session (or login attempt) `binding` names. */
  tokenFor(binding: string): string;
  /** Whether `presented` is the token of `binding`, compared in constant time. */
  verify(binding: string, presented: unknown): boolean;
}

/** The field every admin form carries its token in. */
export const CSRF_FIELD = 'csrf';

export function createCsrf(signingKey: string): Csrf {
  // A key of its own: a CSRF token is never a MAC anything else would accept.
  const key = createHmac('sha256', signingKey).update('revocable admin csrf v1').digest();
  const tokenFor = (binding: string) => createHmac('sha256', key).update(binding).digest('base64url');
  return {
    tokenFor,
    verify(binding, presented) {
      if (typeof presented !== 'string' || presented === '') return false;
      const expected = Buffer.from(tokenFor(binding));
      const given = Buffer.from(presented);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * False when the browser says the request came from another site: `Sec-Fetch-Site` other than
 * `same-origin`, or an `Origin` (even `null`) other than this server's. Requests without either header
 * (old browsers, scripts) rely on the token alone.
 */
export function fromSameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `${request.protocol}://${request.host}`;
}
