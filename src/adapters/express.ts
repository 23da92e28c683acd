import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Claims, ResourceServer, TokenUser } from '../resource/resource-server.ts';
import { refusal } from './reply.ts';

/** What the middleware puts on `req.auth`. */
export interface RequestAuth<U = TokenUser> {
  user: U;
  claims: Claims;
}

declare global {
  namespace Express {
    interface Request {
      /** Set by revocable's middleware on an authenticated request. */
      auth?: RequestAuth<unknown>;
    }
  }
}

/**
 * Express middleware: authenticates the request's bearer token locally (revocation included) and sets
 * `req.auth`; otherwise answers Simple JWT's 401 (or 503 when the revocation state is stale) itself.
 */
export function requireAuth<U>(server: ResourceServer<U>): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    server.authenticate(request.headers).then(
      (auth) => {
        request.auth = auth;
        next();
      },
      (error: unknown) => {
        const reply = refusal(server as ResourceServer<unknown>, error);
        if (reply.status === 500) next(error);
        else response.status(reply.status).set(reply.headers).json(reply.body);
      },
    );
  };
}
