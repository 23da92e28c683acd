import type { FastifyRequest } from 'fastify';

/**
 * The body of an admin form: `application/x-www-form-urlencoded` only (what a browser's form sends
 * without `enctype`). Undefined for anything else, which the admin refuses with 400.
 */
export function readForm(request: FastifyRequest, contentType: string | undefined): URLSearchParams | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const body = request.body;
  if (body === undefined || body === null) return new URLSearchParams();
  if (!Buffer.isBuffer(body)) return undefined;
  return new URLSearchParams(body.toString('utf8'));
}

/** A text field, trimmed and cut to `maxLength`; empty when absent. */
export function textField(form: URLSearchParams, name: string, maxLength: number): string {
  return (form.get(name) ?? '').trim().slice(0, maxLength);
}
