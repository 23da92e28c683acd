import type { FastifyRequest } from 'fastify';
import type { Auth } from '../auth.ts';
import type { Html, NavItem } from './html.ts';
import type { StaffSession } from './session.ts';

/** What a page or an action of the admin receives once the staff session and CSRF are checked. */
export interface AdminContext {
  auth: Auth;
  staff: StaffSession;
  /** The CSRF token every form of this page carries. */
  csrf: string;
  /** The client's address (the proxy's client under `trustProxy`), for the audit trail. */
  ip: string;
  nowMs: number;
  request: FastifyRequest;
}

/** What a page renders inside the layout. */
export interface Page {
  title: string;
  nav?: NavItem;
  status?: number;
  body: Html;
}

/** A query string parameter (the first, when repeated), or undefined. */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined> | undefined)?.[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A route parameter. */
export function routeParam(request: FastifyRequest, name: string): string {
  return (request.params as Record<string, string | undefined>)[name] ?? '';
}

/** A whole number from a query or route parameter, or `fallback` when it is none. */
export function wholeNumber(value: string | undefined, fallback: number): number {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : fallback;
}
