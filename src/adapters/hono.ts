import type { MiddlewareHandler } from 'hono';
import type { Claims, ResourceServer, TokenUser } from '../resource/resource-server.ts';
import { refusal } from './reply.ts';

/** What the middleware sets as `c.get('auth')`. */
export interface RequestAuth<U = TokenUser> {
  user: U;
  claims: Claims;
}

/**
 * Hono middleware: authenticates the request's bearer token locally (revocation included) and sets the
 * `auth` variable; otherwise answers Simple JWT's 401 (or 503 when the revocation state is stale).
 */
export function requireAuth<U>(server: ResourceServer<U>): MiddlewareHandler<{ Variables: { auth: RequestAuth<U> } }> {
  return async (c, next) => {
    let auth: RequestAuth<U>;
    try {
      auth = await server.authenticate(c.req.header());
    } catch (error) {
      const reply = refusal(server as ResourceServer<unknown>, error);
      if (reply.status === 500) throw error;
      return c.json(reply.body as object, reply.status as 401, reply.headers);
    }
    c.set('auth', auth);
    await next();
  };
}
