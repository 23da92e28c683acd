import type { FastifyReply, FastifyRequest } from 'fastify';

/** Reading and writing the admin's cookies: always HttpOnly, SameSite=Strict, Path=/admin, Secure over HTTPS. */

/** The value of cookie `name` in the request, or undefined. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Sets (or, with `value` undefined, deletes) a cookie scoped to the admin. No Max-Age: it ends with the
 * browser session, and the server decides on its own how long what it names stays valid.
 * `Secure` when the request came over HTTPS (`request.protocol`, which honours `X-Forwarded-Proto`
 * only when the server trusts its proxy).
 */
export function writeCookie(request: FastifyRequest, reply: FastifyReply, name: string, value: string | undefined): void {
  const attributes = [
    `${name}=${value === undefined ? '' : encodeURIComponent(value)}`,
    'Path=/admin',
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (request.protocol === 'https') attributes.push('Secure');
  if (value === undefined) attributes.push('Max-Age=0');
  const previous = reply.getHeader('set-cookie');
  const cookies = previous === undefined ? [] : Array.isArray(previous) ? previous.map(String) : [String(previous)];
  // Fastify appends to set-cookie: the list is rebuilt, one cookie of each name.
  reply.removeHeader('set-cookie');
  reply.header('set-cookie', [...cookies.filter((cookie) => !cookie.startsWith(`${name}=`)), attributes.join('; ')]);
}
