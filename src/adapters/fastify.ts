import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Claims, ResourceServer, TokenUser } from '../resource/resource-server.ts';
import { refusal } from './reply.ts';

/** What the hook sets as `request.auth`. */
export interface RequestAuth<U = TokenUser> {
  user: U;
  claims: Claims;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by revocable's `requireAuth` hook on an authenticated request. */
    auth: RequestAuth<unknown> | null;
  }
  interface FastifyInstance {
    /** revocable's hook: add it as `onRequest` to the routes that need a user. */
    requireAuth: onRequestHookHandler;
  }
}

export interface RevocablePluginOptions {
  server: ResourceServer<unknown>;
  /** Authenticate every route of the instance (default false: add `fastify.requireAuth` per route). */
  global?: boolean;
}

/**
 * Fastify plugin: decorates `request.auth` and `fastify.requireAuth`, an `onRequest` hook that
 * authenticates the bearer token locally (revocation included) or answers Simple JWT's 401 (or 503
 * when the revocation state is stale). Registered without encapsulation, like fastify-plugin does.
 */
async function revocablePlugin(fastify: FastifyInstance, options: RevocablePluginOptions): Promise<void> {
  const { server } = options;
  fastify.decorateRequest('auth', null);
  const requireAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.auth = await server.authenticate(request.headers);
    } catch (error) {
      const answer = refusal(server, error);
      if (answer.status === 500) throw error;
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    }
  };
  fastify.decorate('requireAuth', requireAuth);
  if (options.global) fastify.addHook('onRequest', requireAuth);
}

// What fastify-plugin does: the decorations reach the instance that registers the plugin.
Object.assign(revocablePlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'revocable' });

export { revocablePlugin as revocable };
