import type { RequestContext } from '../../core.ts';
import type { Principal } from '../authenticate.ts';
import type { HttpReply } from '../reply.ts';
import type { HttpRequest } from '../routes.ts';

export const ok = (body: unknown, status = 200): HttpReply => ({ status, body });
export const resetContent: HttpReply = { status: 205 };
export const noContent: HttpReply = { status: 204 };

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What the user-facing route groups share: the request's context and the caller's ids. */
export interface RouteHelpers {
  context(request: HttpRequest): RequestContext;
  callerId(principal: Principal): string | number;
  callerSession(principal: Principal): unknown;
}
